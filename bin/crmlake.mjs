#!/usr/bin/env node
// The crmlake command. Sources are TypeScript run through tsx's loader, so there is no build step
// between editing a model stage and running it (ADR 0001).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../functions/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
