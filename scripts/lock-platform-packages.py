#!/usr/bin/env python3
"""Records in package-lock.json the platform-specific optional packages the registry mirror lacks.

npm install skips an optional dependency it cannot fetch and leaves it out of the lock; `npm ci` then
refuses the lock as out of sync ("Missing: @biomejs/cli-darwin-x64@ from lock file"). The registry this
project's machines reach does not serve every platform build of @biomejs/biome and @duckdb/node-bindings,
so after each `npm install` run this script: it adds the missing entries with their os/cpu/libc, which npm
ci skips on any other platform without downloading. On a machine that needs one, npm fetches it by name.
"""
import json
import re

LOCK = "package-lock.json"
PLATFORM = re.compile(r"-(android|darwin|linux|win32)-(arm64|x64)(-musl)?$")

with open(LOCK) as f:
    lock = json.load(f)
packages = lock["packages"]
added = []
for path, entry in list(packages.items()):
    for name, version in entry.get("optionalDependencies", {}).items():
        key = f"node_modules/{name}"
        match = PLATFORM.search(name)
        if key in packages or not match:
            continue
        os_name, cpu, musl = match.groups()
        record = {"version": version, "cpu": [cpu], "optional": True, "os": [os_name]}
        if os_name == "linux":
            record["libc"] = ["musl" if musl else "glibc"]
        if entry.get("dev"):
            record["dev"] = True
        packages[key] = record
        added.append(f"{name}@{version}")
with open(LOCK, "w") as f:
    json.dump(lock, f, indent=2)
    f.write("\n")
print(f"added {len(added)} platform entries" + (": " + ", ".join(added) if added else ""))
