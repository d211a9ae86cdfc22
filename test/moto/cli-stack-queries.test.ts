/**
 * The commands that query a deployment (`crmlake report --stack NAME`, `crmlake campaign assign|plan --stack
 * NAME`, issue 18 item 5) against moto and a scripted Athena: moto holds the CloudFormation stack whose
 * outputs the CLI reads and the landing bucket campaign assign drops its files into; Athena is the scripted
 * one of test/helpers/athena-fake.ts (moto's Athena accepts queries but answers with canned results), so what
 * is checked here is the wiring: which workgroup and database each query goes to, what the commands make of
 * the rows, and what they do when Athena refuses a relation for the caller's rights. That the report's SQL
 * runs on Athena's dialect is the Trino tier's (test/trino/report.test.ts). The CLI runs in this process
 * (main), its AWS clients pointed by AWS_ENDPOINT_URL (moto) and AWS_ENDPOINT_URL_ATHENA (the fake), which
 * the SDK reads: no endpoint is passed in code. Nothing here is deployed to AWS.
 */

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CloudFormationClient,
  CreateStackCommand,
  waitUntilStackCreateComplete,
} from "@aws-sdk/client-cloudformation";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../functions/cli/main.ts";
import { STACK_OUTPUTS } from "../../functions/core/catalogue/stack-outputs.ts";
import { AthenaFake, type FakeQueryScript } from "../helpers/athena-fake.ts";
import { type MotoServer, startMoto } from "./moto-server.ts";
import { MOTO_CLI_ENV, setEnv } from "./stack-fixture.ts";

const STACK = "Crmlake-queries";
const LAKE = "crmlake-queries-lake";
const LANDING = "crmlake-queries-landing";
const DB = "crmlake_queries";
const SCORING_WORKGROUP = "crmlake_queries";
const ANALYSTS = "crmlake_queries_analysts";
const FEB = "2024-02-29";

let moto: MotoServer;
let athena: AthenaFake;
let s3: S3Client;
let cloudFormation: CloudFormationClient;
let work: string;
const savedEnv: Record<string, string | undefined> = {};

const ENV: Record<string, string | undefined> = {
  ...MOTO_CLI_ENV,
};

/** Runs the command line in this process; what it wrote to stdout and stderr, and its exit code. */
async function crmlake(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const listening = [process.stdout, process.stderr].map((stream) => new Set(stream.listeners("error")));
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    [process.stdout, process.stderr].forEach((stream, i) => {
      for (const listener of stream.listeners("error")) {
        if (!listening[i]?.has(listener)) stream.off("error", listener as (error: Error) => void);
      }
    });
  }
}

/** The stack's outputs as the CLI reads them; moto wants one resource. */
const TEMPLATE = {
  Resources: { Topic: { Type: "AWS::SNS::Topic", Properties: {} } },
  Outputs: {
    [STACK_OUTPUTS.lakeBucket]: { Value: LAKE },
    [STACK_OUTPUTS.database]: { Value: DB },
    [STACK_OUTPUTS.workGroup]: { Value: SCORING_WORKGROUP },
    [STACK_OUTPUTS.analystWorkGroup]: { Value: ANALYSTS },
    [STACK_OUTPUTS.landingBucket]: { Value: LANDING },
  },
};

/** Athena's answer to a statement that reads an S3 prefix the caller may not read. */
const denied = (match: string, prefix: string): FakeQueryScript => ({
  match,
  states: [
    {
      state: "FAILED",
      reason: `Permission denied on S3 path: s3://${LAKE}/${prefix}`,
      error: { category: 2, type: 1306, message: `Permission denied on S3 path: s3://${LAKE}/${prefix}` },
    },
  ],
});

const text = (name: string) => ({ name, type: "varchar" });
const bigint = (name: string) => ({ name, type: "bigint" });

/** How the report starts on a stack: the latest as-of, that it has rows, which optional tables exist. */
const REPORT_START: FakeQueryScript[] = [
  { match: "max(as_of)", columns: [text("d")], rows: [[FEB]] },
  { match: "count(*) AS n FROM customer_scores", columns: [bigint("n")], rows: [["120"]] },
  {
    match: "information_schema.tables",
    columns: [text("table_name")],
    rows: [["customer_actions"], ["campaign_results"]],
  },
];

const REPORT_REST: FakeQueryScript[] = [
  {
    // Athena types an array column `array` and gives its value as text.
    match: "FROM campaign_results",
    columns: [
      text("campaign_id"),
      { name: "response_p_value", type: "double" },
      { name: "flags", type: "array" },
    ],
    rows: [["WB0", "0.01", "[window_not_closed, few_responders]"]],
  },
  {
    match: "FROM pyramid_summary",
    columns: [text("value_tier"), { name: "tier_order", type: "integer" }, bigint("customers")],
    rows: [
      ["top", "1", "2"],
      ["small", "2", "98"],
    ],
  },
  {
    match: "FROM customer_actions",
    columns: [text("next_action"), bigint("customers"), { name: "clv", type: "decimal", scale: 2 }],
    rows: [["win_back", "17", "1234.50"]],
  },
];

async function landed(key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: LANDING, Key: key }));
  return (await object.Body?.transformToString()) ?? "";
}

beforeAll(async () => {
  moto = await startMoto();
  athena = await AthenaFake.start();
  for (const name of [...Object.keys(ENV), "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ATHENA"]) {
    savedEnv[name] = process.env[name];
  }
  setEnv({ ...ENV, AWS_ENDPOINT_URL: moto.endpoint, AWS_ENDPOINT_URL_ATHENA: athena.endpoint });
  const client = {
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  };
  s3 = new S3Client({ ...client, forcePathStyle: true });
  cloudFormation = new CloudFormationClient(client);
  for (const bucket of [LAKE, LANDING]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await cloudFormation.send(
    new CreateStackCommand({ StackName: STACK, TemplateBody: JSON.stringify(TEMPLATE) }),
  );
  await waitUntilStackCreateComplete(
    { client: cloudFormation, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
    { StackName: STACK },
  );
  work = await mkdtemp(join(tmpdir(), "crmlake-stack-queries-"));
});

beforeEach(() => {
  athena.queries.length = 0;
});

afterAll(async () => {
  setEnv(savedEnv);
  s3?.destroy();
  cloudFormation?.destroy();
  await athena?.close();
  await moto?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe("crmlake report --stack", () => {
  it("queries the published tables in the analysts' workgroup and the stack's database, and says the ingest figures need the operator's rights when the ledger is refused", async () => {
    athena.script(
      ...REPORT_START,
      denied("FROM drops", "ledger/drops/orders-1a2b3c4d5e.json"),
      ...REPORT_REST,
    );
    const out = join(work, "analyst.html");
    const result = await crmlake("report", "--stack", STACK, "--out", out);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toContain(`Customer report as of ${FEB}`);
    expect(result.stdout).toContain(`Report written to ${out}`);

    // Every statement ran in the analysts' workgroup, in the stack's Glue database; the optional tables are
    // looked up in that database only (information_schema lists the run databases too).
    expect(athena.queries.length).toBeGreaterThan(15);
    expect(new Set(athena.queries.map((q) => q.workGroup))).toEqual(new Set([ANALYSTS]));
    expect(new Set(athena.queries.map((q) => q.database))).toEqual(new Set([DB]));
    expect(athena.statements.find((s) => s.includes("information_schema.tables"))).toContain(
      `table_schema = '${DB}'`,
    );
    // The as-of goes in as a DATE literal (Trino compares a DATE with a DATE only).
    expect(athena.statements.find((s) => s.includes("FROM pyramid_summary"))).toContain(
      `as_of = DATE '${FEB}'`,
    );
    // After the ledger was refused, the quarantine is not tried: the analysts' policy denies it outright.
    expect(athena.statements.some((s) => /FROM quarantine/.test(s))).toBe(false);

    const html = await readFile(out, "utf8");
    expect(html).toContain("Files read and rows set aside are not shown");
    expect(html).toContain("Permission denied on S3 path");
    expect(html).toContain("They need the operator's rights");
    expect(html).toContain("win_back");
    expect(html).toContain("<td>window_not_closed, few_responders</td>");
    expect(result.stdout).toContain("check its flags first: window_not_closed, few_responders.");
  });

  it("shows the files read and the rows set aside by reason to a caller who may read the ledger and the quarantine", async () => {
    athena.script(
      ...REPORT_START,
      {
        match: "FROM drops",
        columns: [
          bigint("drops"),
          bigint("rejected"),
          bigint("rows_in"),
          bigint("rows_ok"),
          bigint("rows_quarantined"),
        ],
        rows: [["3", "1", "1000", "990", "10"]],
      },
      {
        match: "FROM quarantine",
        columns: [text("reason_code"), bigint("n")],
        rows: [
          ["missing_customer_id", "7"],
          ["bad_amount", "3"],
        ],
      },
      ...REPORT_REST,
    );
    const out = join(work, "operator.html");
    const result = await crmlake("report", "--stack", STACK, "--out", out, "--as-of", FEB);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const html = await readFile(out, "utf8");
    expect(html).toContain("1,000 rows read from 3 files, 1 files rejected whole");
    expect(html).toContain('<code>missing_customer_id</code></td><td class="n">7</td>');
    expect(html).not.toContain("are not shown");
  });

  it("names the as-ofs there are when the stack has none on or before the given one, and refuses --lake with --stack", async () => {
    athena.script(
      { match: "count(*) AS n FROM customer_scores", columns: [bigint("n")], rows: [["0"]] },
      { match: "SELECT DISTINCT", columns: [text("d")], rows: [["2024-01-31"], [FEB]] },
    );
    const missing = await crmlake("report", "--stack", STACK, "--as-of", "2024-03-31");
    expect(missing).toMatchObject({ code: 1, stdout: "" });
    expect(missing.stderr).toBe(
      `crmlake report: No run as of 2024-03-31 in the stack ${STACK}. Runs exist as of: 2024-01-31, ${FEB}\n`,
    );
    const both = await crmlake("report", "--stack", STACK, "--lake", "lake");
    expect(both.code).toBe(2);
    expect(both.stderr).toBe(
      "crmlake report: crmlake report --stack works on the deployed stack; --lake is for a local lake only\n",
    );
  });
});

const AUDIENCE_COLUMNS: FakeQueryScript = {
  match: "information_schema.columns",
  columns: [text("column_name"), text("data_type")],
  rows: [
    ["customer_id", "varchar"],
    ["value_tier", "varchar"],
    ["lifecycle_stage", "varchar"],
    ["recency_days", "integer"],
    ["orders", "bigint"],
    ["net_revenue", "decimal(18,2)"],
    ["as_of", "date"],
  ],
};

const CUSTOMERS = Array.from({ length: 40 }, (_, i) => `c${String(i).padStart(2, "0")}`);

describe("crmlake campaign --stack", () => {
  it("assign reads the audience through Athena in the analysts' workgroup and drops the two files into the landing bucket", async () => {
    athena.script(
      AUDIENCE_COLUMNS,
      { match: "MAX(as_of)", columns: [text("_col0")], rows: [[FEB]] },
      {
        match: "ORDER BY customer_id",
        columns: [
          text("customer_id"),
          text("_col1"),
          { name: "recency_days", type: "integer" },
          bigint("orders"),
          { name: "_col4", type: "double" },
        ],
        rows: CUSTOMERS.map((c, i) => [c, i < 8 ? "top" : "small", String(i), "2", "120.5"]),
      },
      // The ledger, for the campaign's earlier record in ingest order, is the operator's.
      denied("LEFT JOIN", "ledger/drops/WB1-campaign-0123456789.json"),
      {
        match: "FROM campaigns AS c",
        columns: ["name", "channel", "_col2", "_col3", "_col4", "_col5"].map(text),
        rows: [["Winback", "email", "2024-03-01", "2024-03-30", "0.50", "100.00"]],
      },
    );
    const out = join(work, "assignments");
    const result = await crmlake(
      "campaign",
      "assign",
      "--stack",
      STACK,
      "--campaign",
      "WB1",
      "--control-share",
      "0.25",
      "--where",
      "lifecycle_stage = lapsed",
      "--out",
      out,
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(new Set(athena.queries.map((q) => q.workGroup))).toEqual(new Set([ANALYSTS]));
    expect(new Set(athena.queries.map((q) => q.database))).toEqual(new Set([DB]));
    expect(athena.statements[0]).toContain(`table_schema = '${DB}'`);
    expect(athena.statements[2]).toContain(`WHERE "lifecycle_stage" = 'lapsed' ORDER BY`);
    expect(result.stdout).toContain("The drop ledger is not readable with these credentials");
    expect(result.stdout).toContain(`Campaign WB1: 40 customers of customer_scores as of ${FEB}`);
    expect(result.stdout).toContain(`Dropped s3://${LANDING}/campaigns/WB1-campaign.csv\n`);
    expect(result.stdout).toContain(`Dropped s3://${LANDING}/campaign_contacts/WB1-contacts.csv\n`);
    expect(result.stdout).toContain("Window 2024-03-01 to 2024-03-30.");

    // The earlier record's fields carry over; the files in the bucket are those written to --out.
    const campaign = await landed("campaigns/WB1-campaign.csv");
    expect(campaign).toBe(
      "campaign_id,name,channel,starts_on,ends_on,cost_per_contact,fixed_cost,planned_control_share\nWB1,Winback,email,2024-03-01,2024-03-30,0.50,100.00,0.25\n",
    );
    expect(campaign).toBe(await readFile(join(out, "WB1-campaign.csv"), "utf8"));
    const contacts = (await landed("campaign_contacts/WB1-contacts.csv")).trimEnd().split("\n");
    expect(contacts[0]).toBe("campaign_id,customer_id,group,contacted_on");
    expect(contacts).toHaveLength(41);
    expect(contacts.filter((l) => l.endsWith(",control,"))).toHaveLength(10);
    expect(contacts.join("\n")).toBe((await readFile(join(out, "WB1-contacts.csv"), "utf8")).trimEnd());
  });

  it("plan sizes a campaign from the stack's published tables", async () => {
    athena.script(
      AUDIENCE_COLUMNS,
      { match: "MAX(as_of)", columns: [text("_col0")], rows: [[FEB]] },
      {
        match: "int_customer_orders",
        columns: [
          bigint("_col0"),
          bigint("_col1"),
          { name: "_col2", type: "double" },
          { name: "_col3", type: "double" },
        ],
        rows: [["5000", "500", "12.5", "900.0"]],
      },
    );
    const result = await crmlake("campaign", "plan", "--stack", STACK, "--uplift", "0.02");
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toContain(
      `Population: 5,000 customers of customer_scores as of ${FEB} (every customer)`,
    );
    expect(result.stdout).toContain("Baseline: response rate 10.00 % (500 of 5,000 customers");
    expect(new Set(athena.queries.map((q) => q.workGroup))).toEqual(new Set([ANALYSTS]));
    expect(athena.statements[2]).toContain(`as_of = DATE '${FEB}'`);
  });
});
