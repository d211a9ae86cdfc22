import { readdir } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { defaultConfig } from "../../functions/core/config.ts";
import { IngestError } from "../../functions/core/errors.ts";
import { ingestDrop } from "../../functions/core/ingest/ingest.ts";
import { sweepRetired } from "../../functions/core/ledger/retire.ts";
import { tempLake } from "../helpers/lake.ts";

const HEADER =
  "order_id,customer_id,ordered_at,product_id,category,channel,store_id,quantity,amount,cost,discount";

async function listFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).sort();
  } catch {
    return [];
  }
}

describe("ingest of a clean CSV", () => {
  it("round-trips every value and type through Parquet", async () => {
    const lake = await tempLake();
    const path = await lake.file(
      "orders.csv",
      [
        HEADER,
        "o1,c1,2024-01-31 23:59:59.123,p1,books,web,s1,2,25.50,10.00,1.25",
        "o2,c2,2024-02-01,p2,toys,store,s2,-1,-9.99,,",
        'o3,"c,3",2024-02-29T10:00:00Z,p3,"say ""hi""",app,,,0.005,,0',
      ].join("\n"),
    );
    const { ledger } = await lake.ingest("transactions", path);
    expect(ledger).toMatchObject({ status: "ok", rows_in: 3, rows_ok: 3, rows_quarantined: 0 });

    const rows = await lake.query("SELECT * EXCLUDE (drop_id) FROM transactions ORDER BY line_number");
    expect(rows).toEqual([
      {
        order_id: "o1",
        customer_id: "c1",
        ordered_at: "2024-01-31 23:59:59.123",
        product_id: "p1",
        category: "books",
        channel: "web",
        store_id: "s1",
        quantity: 2,
        amount: "25.50",
        cost: "10.00",
        discount: "1.25",
        line_type: null,
        line_number: "2",
        order_month: "2024-01",
      },
      {
        order_id: "o2",
        customer_id: "c2",
        ordered_at: "2024-02-01 00:00:00",
        product_id: "p2",
        category: "toys",
        channel: "store",
        store_id: "s2",
        quantity: -1,
        amount: "-9.99",
        cost: null,
        discount: null,
        line_type: null,
        line_number: "3",
        order_month: "2024-02",
      },
      {
        order_id: "o3",
        customer_id: "c,3",
        ordered_at: "2024-02-29 10:00:00",
        product_id: "p3",
        category: 'say "hi"',
        channel: "app",
        store_id: null,
        // quantity defaults to 1; 0.005 rounds half away from zero to 0.01
        quantity: 1,
        amount: "0.01",
        cost: null,
        discount: "0.00",
        line_type: null,
        line_number: "4",
        order_month: "2024-02",
      },
    ]);

    // Parquet types as written, read back by DuckDB: millisecond timestamps and decimal(18,2) money.
    const files = (await listFiles(`${lake.lakeDir}/curated/transactions`)).filter((f) =>
      f.endsWith(".parquet"),
    );
    expect(files).toEqual([
      `order_month=2024-01/${ledger.drop_id}__${ledger.version}.parquet`,
      `order_month=2024-02/${ledger.drop_id}__${ledger.version}.parquet`,
    ]);
    const schema = await lake.query(
      `SELECT name, type, logical_type, converted_type FROM parquet_schema('${lake.lakeDir}/curated/transactions/${files[0]}') WHERE name IN ('ordered_at', 'amount', 'quantity')`,
    );
    expect(schema.map((r) => [r.name, r.type])).toEqual([
      ["ordered_at", "INT64"],
      ["quantity", "INT32"],
      ["amount", "INT64"],
    ]);
    expect(String(schema[0]?.logical_type)).toMatch(/MILLIS/);
    expect(String(schema[2]?.converted_type)).toBe("DECIMAL");
  });

  it("reads TSV, gzip, a BOM, CRLF line ends and Latin-1", async () => {
    const lake = await tempLake();
    const tsv = await lake.file(
      "a.tsv",
      `\ufeff${HEADER.replaceAll(",", "\t")}\r\no1\tc1\t2024-01-01\t\t\t\t\t1\t5\t\t\r\n`,
    );
    const gz = await lake.file("b.csv.gz", gzipSync(`${HEADER}\no2,c2,2024-01-02,,,,,1,6,,\n`));
    const latin1 = await lake.file(
      "c.csv",
      Buffer.from(`${HEADER}\no3,Müller,2024-01-03,,Café,,,1,7,,\n`, "latin1"),
    );
    await lake.ingest("transactions", tsv);
    await lake.ingest("transactions", gz);
    await lake.ingest("transactions", latin1, { encoding: "latin-1" });
    const rows = await lake.query(
      "SELECT order_id, customer_id, category, amount FROM transactions ORDER BY 1",
    );
    expect(rows).toEqual([
      { order_id: "o1", customer_id: "c1", category: null, amount: "5.00" },
      { order_id: "o2", customer_id: "c2", category: null, amount: "6.00" },
      { order_id: "o3", customer_id: "Müller", category: "Café", amount: "7.00" },
    ]);
  });

  it("reads JSON Lines, skipping blank lines and quarantining a line that is not an object", async () => {
    const lake = await tempLake();
    const path = await lake.file(
      "orders.jsonl",
      [
        '{"order_id":"o1","customer_id":"c1","ordered_at":"2024-03-01 10:00:00","amount":12.5,"quantity":2}',
        "",
        "{not json",
        '{"order_id":"o2","customer_id":"c2","ordered_at":"2024-03-02","amount":"3"}',
      ].join("\n"),
    );
    const { ledger } = await lake.ingest("transactions", path);
    expect(ledger).toMatchObject({ rows_in: 3, rows_ok: 2, rows_quarantined: 1 });
    expect(
      await lake.query("SELECT order_id, quantity, amount, line_number FROM transactions ORDER BY 1"),
    ).toEqual([
      { order_id: "o1", quantity: 2, amount: "12.50", line_number: "1" },
      { order_id: "o2", quantity: 1, amount: "3.00", line_number: "4" },
    ]);
    expect(await lake.query("SELECT line_number, reason_code, raw FROM quarantine")).toEqual([
      { line_number: "3", reason_code: "malformed_row", raw: "{not json" },
    ]);
  });

  it("reads Parquet input", async () => {
    const lake = await tempLake();
    const path = `${lake.root}/input.parquet`;
    await lake.query(
      `COPY (SELECT 'o1' AS order_id, 'c1' AS customer_id, TIMESTAMP '2024-05-06 07:08:09.010' AS ordered_at,
         CAST(19.99 AS DECIMAL(10,2)) AS amount, 3 AS quantity) TO '${path}' (FORMAT parquet)`,
    );
    const { ledger } = await lake.ingest("transactions", path);
    expect(ledger).toMatchObject({ rows_in: 1, rows_ok: 1, format: "parquet" });
    expect(await lake.query("SELECT ordered_at, amount, quantity, line_number FROM transactions")).toEqual([
      { ordered_at: "2024-05-06 07:08:09.01", amount: "19.99", quantity: 3, line_number: "1" },
    ]);
  });
});

describe("source profiles", () => {
  it("renames columns, derives amount, parses custom formats and decimal commas, and applies defaults", async () => {
    const lake = await tempLake();
    const path = await lake.file(
      "export.csv",
      [
        "Rechnung;Kunde;Datum;Menge;Preis;Beschreibung",
        "R1;K1;1/2/2024 8:05;3;1.234,505;Tasse",
        "R2;K2;12/31/2024 23:59;-2;0,5;",
      ].join("\n"),
    );
    const { ledger } = await lake.ingest("transactions", path, {
      name: "german-shop",
      delimiter: ";",
      decimal_separator: ",",
      thousands_separator: ".",
      timestamp_formats: "%m/%d/%Y %H:%M",
      rename: { Rechnung: "order_id", kunde: "customer_id", Datum: "ordered_at", Menge: "quantity" },
      derive: { amount: { multiply: ["quantity", "Preis"] } },
      defaults: { channel: "web" },
    });
    expect(ledger.warnings).toEqual(['ignored unknown columns in "export.csv": Beschreibung']);
    expect(ledger.profile).toBe("german-shop");
    expect(
      await lake.query("SELECT order_id, ordered_at, quantity, amount, channel FROM transactions ORDER BY 1"),
    ).toEqual([
      // 3 × 1234.505 = 3703.515 → 3703.52 (half away from zero)
      { order_id: "R1", ordered_at: "2024-01-02 08:05:00", quantity: 3, amount: "3703.52", channel: "web" },
      { order_id: "R2", ordered_at: "2024-12-31 23:59:00", quantity: -2, amount: "-1.00", channel: "web" },
    ]);
  });

  it("reads a file without header using the profile's column names", async () => {
    const lake = await tempLake();
    const path = await lake.file("noheader.csv", "c1,2024-01-01,o1,9.90\nc2,2024-01-02,o2,1\n");
    await lake.ingest("transactions", path, {
      header: false,
      columns: ["customer_id", "ordered_at", "order_id", "amount"],
    });
    expect(await lake.query("SELECT order_id, amount, line_number FROM transactions ORDER BY 1")).toEqual([
      { order_id: "o1", amount: "9.90", line_number: "1" },
      { order_id: "o2", amount: "1.00", line_number: "2" },
    ]);
  });

  it("rejects an invalid profile with the key path and what was expected", async () => {
    const lake = await tempLake();
    const path = await lake.file("x.csv", `${HEADER}\n`);
    await expect(lake.ingest("transactions", path, { delimiter: ";;", bogus: 1 })).rejects.toThrow(
      'Source profile test profile: delimiter: Too big: expected string to have exactly 1 characters; unknown key "bogus" at the top level',
    );
  });
});

describe("quarantine", () => {
  it("quarantines each kind of bad row with its reason code and line number, and keeps the rest", async () => {
    const lake = await tempLake();
    const path = await lake.file(
      "orders.csv",
      [
        HEADER, // line 1
        "o1,c1,2024-01-01,,,,,1,10,,", // 2 ok
        "o2,,2024-01-01,,,,,1,10,,", // 3 missing_customer_id
        ",c3,2024-01-01,,,,,1,10,,", // 4 missing_required (order_id)
        "o4,c4,yesterday,,,,,1,10,,", // 5 bad_timestamp
        "o5,c5,2024-01-01,,,,,1,ten,,", // 6 bad_amount
        "o6,c6,2024-01-01,,,,,1.5,10,,", // 7 bad_quantity
        "o7,c7,2024-01-01,,,,,1,10,,-1", // 8 bad_amount (negative discount)
        "o8,c8,2024-01-01,,,,,1,10,,,extra", // 9 malformed_row (too many fields)
        'o9,c9,2024-01-01,"a"b,,,,1,10,,', // 10 malformed_row (quote inside a field)
        "o10,c10,2024-01-01", // 11 malformed_row (too few fields)
        "o11,c11,1850-01-01,,,,,1,10,,", // 12 bad_timestamp (out of range)
        "o12,c12,2024-01-02,,,,,2,20,,", // 13 ok
      ].join("\n"),
    );
    const { ledger } = await lake.ingest("transactions", path);
    expect(ledger).toMatchObject({ rows_in: 12, rows_ok: 2, rows_quarantined: 10 });
    expect(ledger.quarantine_reasons).toEqual({
      missing_customer_id: 1,
      missing_required: 1,
      bad_timestamp: 2,
      bad_amount: 2,
      bad_quantity: 1,
      malformed_row: 3,
    });
    const rows = await lake.query(
      "SELECT line_number, reason_code, reason FROM quarantine ORDER BY line_number",
    );
    expect(rows.map((r) => [Number(r.line_number), r.reason_code])).toEqual([
      [3, "missing_customer_id"],
      [4, "missing_required"],
      [5, "bad_timestamp"],
      [6, "bad_amount"],
      [7, "bad_quantity"],
      [8, "bad_amount"],
      [9, "malformed_row"],
      [10, "malformed_row"],
      [11, "malformed_row"],
      [12, "bad_timestamp"],
    ]);
    expect(rows[2]?.reason).toBe(
      'ordered_at "yesterday" is not a timestamp (expected ISO 8601, years 1900–2199)',
    );
    expect(rows[6]?.reason).toBe("the record has more fields than the header (11)");
    // Line numbers of curated rows stay right after rows the CSV reader rejected.
    expect(await lake.query("SELECT order_id, line_number FROM transactions ORDER BY 2")).toEqual([
      { order_id: "o1", line_number: "2" },
      { order_id: "o12", line_number: "13" },
    ]);
    const raw = await lake.query("SELECT raw FROM quarantine WHERE line_number = 9");
    expect(raw[0]?.raw).toBe("o8,c8,2024-01-01,,,,,1,10,,,extra");
  });

  it("ingests a products catalogue: a missing product id or a negative price or cost is quarantined", async () => {
    const lake = await tempLake();
    const products = await lake.file(
      "products.csv",
      "product_id,category,brand,list_price,cost\nP1,home,Acme,12.50,4.10\nP2,,,,\n,toys,,1.00,0.50\nP3,toys,,-1,\nP4,toys,,2.00,-0.10\n",
    );
    const { ledger } = await lake.ingest("products", products);
    expect([ledger.rows_in, ledger.rows_ok, ledger.quarantine_reasons]).toEqual([
      5,
      2,
      { missing_required: 1, bad_amount: 2 },
    ]);
    expect(
      await lake.query("SELECT product_id, category, brand, list_price, cost FROM products ORDER BY 1"),
    ).toEqual([
      { product_id: "P1", category: "home", brand: "Acme", list_price: "12.50", cost: "4.10" },
      { product_id: "P2", category: null, brand: null, list_price: null, cost: null },
    ]);
  });

  it("quarantines bad dates, allowed values and date ranges in the other datasets", async () => {
    const lake = await tempLake();
    const customers = await lake.file(
      "customers.csv",
      "customer_id,signed_up_at,country\nc1,2024-01-01,UK\nc2,2024-13-01,UK\n,2024-01-01,FR\n",
    );
    const campaigns = await lake.file(
      "campaigns.csv",
      "campaign_id,name,starts_on,ends_on,cost_per_contact\nk1,Spring,2024-03-01,2024-03-31,0.5\nk2,Bad,2024-04-30,2024-04-01,\nk3,Cost,2024-05-01,2024-05-31,-1\n",
    );
    const contacts = await lake.file(
      "contacts.csv",
      "campaign_id,customer_id,group,contacted_on\nk1,c1,Treatment,\nk1,c2,control,2024-03-02\nk1,c3,maybe,\n",
    );
    expect((await lake.ingest("customers", customers)).ledger.quarantine_reasons).toEqual({
      bad_date: 1,
      missing_customer_id: 1,
    });
    expect((await lake.ingest("campaigns", campaigns)).ledger.quarantine_reasons).toEqual({
      bad_date_range: 1,
      bad_amount: 1,
    });
    expect((await lake.ingest("campaign_contacts", contacts)).ledger.quarantine_reasons).toEqual({
      bad_value: 1,
    });
    expect(
      await lake.query('SELECT customer_id, "group", contacted_on FROM campaign_contacts ORDER BY 1'),
    ).toEqual([
      { customer_id: "c1", group: "treatment", contacted_on: null },
      { customer_id: "c2", group: "control", contacted_on: "2024-03-02" },
    ]);
    expect(await lake.query("SELECT campaign_id, cost_per_contact, fixed_cost FROM campaigns")).toEqual([
      { campaign_id: "k1", cost_per_contact: "0.50", fixed_cost: "0.00" },
    ]);
  });

  it("keeps a planned control share to 6 decimals and quarantines one outside (0, 1) as bad_share", async () => {
    const lake = await tempLake();
    const campaigns = await lake.file(
      "campaigns.csv",
      [
        "campaign_id,starts_on,ends_on,planned_control_share",
        "k1,2024-03-01,2024-03-31,0.125",
        "k2,2024-03-01,2024-03-31,0.3333333",
        "k3,2024-03-01,2024-03-31,",
        "k4,2024-03-01,2024-03-31,0",
        "k5,2024-03-01,2024-03-31,1",
        "k6,2024-03-01,2024-03-31,-0.1",
        "k7,2024-03-01,2024-03-31,a tenth",
        "",
      ].join("\n"),
    );
    const { ledger } = await lake.ingest("campaigns", campaigns);
    expect(ledger.quarantine_reasons).toEqual({ bad_share: 4 });
    expect(await lake.query("SELECT campaign_id, planned_control_share FROM campaigns ORDER BY 1")).toEqual([
      { campaign_id: "k1", planned_control_share: "0.125000" },
      { campaign_id: "k2", planned_control_share: "0.333333" },
      { campaign_id: "k3", planned_control_share: null },
    ]);
    const reasons = await lake.query("SELECT reason FROM quarantine ORDER BY line_number");
    expect(reasons[0]?.reason).toBe('planned_control_share "0" is not a number strictly between 0 and 1');
  });

  it("quarantines a record that is not valid UTF-8 as bad_encoding", async () => {
    const lake = await tempLake();
    const path = await lake.file(
      "enc.csv",
      Buffer.concat([
        Buffer.from(`${HEADER}\no1,c1,2024-01-01,,,,,1,10,,\no2,c`),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(",2024-01-01,,,,,1,10,,\n"),
      ]),
    );
    const { ledger } = await lake.ingest("transactions", path);
    expect(ledger).toMatchObject({ rows_in: 2, rows_ok: 1, rows_quarantined: 1 });
    expect(ledger.quarantine_reasons).toEqual({ bad_encoding: 1 });
  });
});

describe("a header and no rows", () => {
  it("is a drop of zero rows (a normal 'no sales today' export), and identical ones are not duplicates", async () => {
    const lake = await tempLake();
    const monday = await lake.ingest("transactions", await lake.file("monday.csv", `${HEADER}\n`));
    expect(monday.ledger).toMatchObject({ status: "ok", rows_in: 0, rows_ok: 0, output_keys: [] });
    const tuesday = await lake.ingest("transactions", await lake.file("tuesday.csv", `${HEADER}\n`));
    expect(tuesday.ledger).toMatchObject({ status: "ok", rows_in: 0 });
    expect(await lake.query("SELECT count(*)::INTEGER AS n FROM transactions")).toEqual([{ n: 0 }]);
    expect(await lake.query("SELECT count(*)::INTEGER AS n FROM drops WHERE status = 'ok'")).toEqual([
      { n: 2 },
    ]);
  });
});

describe("whole-file rejection", () => {
  const cases: [string, string, string | Uint8Array, RegExp][] = [
    ["an empty file", "empty.csv", "", /is empty \(0 bytes\)/],
    ["a file of blank lines", "blank.csv", "\n\n", /has no data rows \(only whitespace\)/],
    ["a .gz that is not gzip", "plain.csv.gz", `${HEADER}\n`, /is not gzip-compressed/],
    [
      "a corrupt gzip",
      "corrupt.csv.gz",
      Buffer.concat([
        gzipSync(`${HEADER}\n${"o1,c1,2024-01-01,,,,,1,10,,\n".repeat(2000)}`).subarray(0, 200),
        Buffer.alloc(50, 7),
      ]),
      /"corrupt.csv.gz" is not a valid gzip file: unexpected end of file/,
    ],
    [
      // Damage in the middle of a long stream: it used to crash ingest with an unhandled rejection, no
      // ledger record and a temporary folder left behind (issue 12, case 5).
      "a gzip damaged mid-stream",
      "damaged.csv.gz",
      (() => {
        const lines = Array.from(
          { length: 200_000 },
          (_, i) => `o${i},c${i % 97},2024-01-0${1 + (i % 9)},,,,,1,${i % 90},,`,
        );
        const whole = gzipSync(`${HEADER}\n${lines.join("\n")}\n`);
        const middle = Math.floor(whole.length / 2);
        return Buffer.concat([whole.subarray(0, middle), Buffer.alloc(1000), whole.subarray(middle + 1000)]);
      })(),
      /"damaged.csv.gz" is not a valid gzip file: (incorrect data check|invalid .*)/,
    ],
    ["a .parquet that is not Parquet", "fake.parquet", "order_id\n1\n", /is not a Parquet file/],
    ["a binary file posing as CSV", "bin.csv", Buffer.from([0, 1, 2, 3, 0, 5]), /is not a text file/],
    ["JSON Lines that are not JSON", "x.jsonl", "hello\n", /is not JSON Lines/],
    ["an unknown extension", "orders.xlsx", "x", /Cannot tell the format/],
    [
      "a missing required column",
      "nocust.csv",
      "order_id,ordered_at,amount\no1,2024-01-01,1\n",
      /has no column "customer_id", which transactions requires. Columns found: order_id, ordered_at, amount/,
    ],
  ];
  it.each(cases)(
    "rejects %s with one clear line and writes no data",
    async (_label, name, content, message) => {
      const lake = await tempLake();
      const path = await lake.file(name, content);
      const error = await lake.ingest("transactions", path).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(IngestError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain("\n");
      expect(await listFiles(`${lake.lakeDir}/curated`)).toEqual([]);
      expect(await listFiles(`${lake.lakeDir}/quarantine`)).toEqual([]);
      const drops = await lake.query("SELECT status, error_code, rows_in FROM drops");
      expect(drops).toEqual([{ status: "rejected", error_code: (error as IngestError).code, rows_in: "0" }]);
    },
  );
});

describe("idempotency", () => {
  it("leaves one copy of a drop's rows when the same file is ingested twice", async () => {
    const lake = await tempLake();
    const path = await lake.file(
      "day.csv",
      `${HEADER}\no1,c1,2024-01-01,,,,,1,10,,\no2,,2024-01-01,,,,,1,10,,\n`,
    );
    const first = await lake.ingest("transactions", path);
    const second = await lake.ingest("transactions", path);
    expect(second.ledger.drop_id).toBe(first.ledger.drop_id);
    expect(await lake.query("SELECT count(*) AS n FROM transactions")).toEqual([{ n: "1" }]);
    expect(await lake.query("SELECT count(*) AS n FROM quarantine")).toEqual([{ n: "1" }]);
    expect(await lake.query("SELECT count(*) AS n FROM drops")).toEqual([{ n: "1" }]);
  });

  it("replaces a drop whose file changed, removing partitions it no longer has once the grace period ends", async () => {
    const lake = await tempLake();
    const path = await lake.file(
      "day.csv",
      `${HEADER}\no1,c1,2024-01-01,,,,,1,10,,\no2,c2,2024-02-01,,,,,1,10,,\n`,
    );
    const first = await lake.ingest("transactions", path);
    await lake.file("day.csv", `${HEADER}\no3,c3,2024-01-05,,,,,1,30,,\n`);
    const second = await lake.ingest("transactions", path);
    expect(second.superseded?.version).toBe(first.ledger.version);
    // Readers see the new version only, from the moment it is committed.
    expect(await lake.query("SELECT order_id, order_month FROM transactions")).toEqual([
      { order_id: "o3", order_month: "2024-01" },
    ]);
    const parquet = async () =>
      (await listFiles(`${lake.lakeDir}/curated/transactions`)).filter((f) => f.endsWith(".parquet")).sort();
    // The superseded version's files stay for the grace period (a reader may still be reading them)...
    expect(await parquet()).toHaveLength(3);
    // ...and go at the first sweep after it.
    expect(await sweepRetired(lake.store, { now: new Date(), graceMs: 0 })).toMatchObject({ finished: 1 });
    expect(await parquet()).toEqual([
      `order_month=2024-01/${second.ledger.drop_id}__${second.ledger.version}.parquet`,
    ]);
  });

  it("re-ingesting an unchanged file writes nothing and keeps the committed version", async () => {
    const lake = await tempLake();
    const path = await lake.file("day.csv", `${HEADER}\no1,c1,2024-01-01,,,,,1,10,,\n`);
    const first = await lake.ingest("transactions", path);
    const again = await lake.ingest("transactions", path);
    expect(again.unchanged).toBe(true);
    expect(again.ledger.version).toBe(first.ledger.version);
    expect(await lake.query("SELECT count(*)::INTEGER AS n FROM transactions")).toEqual([{ n: 1 }]);
  });

  it("rejects the same content dropped again under another name as a duplicate", async () => {
    const lake = await tempLake();
    const content = `${HEADER}\no1,c1,2024-01-01,,,,,1,10,,\n`;
    await lake.ingest("transactions", await lake.file("a.csv", content));
    await expect(lake.ingest("transactions", await lake.file("copy-of-a.csv", content))).rejects.toThrow(
      /same content .* as drop a-/,
    );
    expect(await lake.query("SELECT count(*) AS n FROM transactions")).toEqual([{ n: "1" }]);
    expect(await lake.query("SELECT status, error_code FROM drops ORDER BY status")).toEqual([
      { status: "duplicate", error_code: "duplicate_drop" },
      { status: "ok", error_code: null },
    ]);
  });
});

describe("line types and exact duplicate lines (issue 16)", () => {
  it("sets line_type from the profile's product ids and pattern; the file's own value wins, other values are refused", async () => {
    const lake = await tempLake();
    const path = await lake.file(
      "lines.csv",
      [
        "order_id,customer_id,ordered_at,product_id,amount,line_type",
        "o1,c1,2024-01-05,P1,10.00,",
        "o1,c1,2024-01-05,POST,3.00,",
        "o1,c1,2024-01-05,gift_0001_20,20.00,",
        "o1,c1,2024-01-05,xgift_1,1.00,",
        "o2,c2,2024-01-06,P2,4.00,NON_PRODUCT",
        "o2,c2,2024-01-06,POST,2.00,product",
        "o2,c2,2024-01-06,,1.00,",
        "o3,c3,2024-01-07,P3,5.00,service",
        "",
      ].join("\n"),
    );
    const profile = { non_product_lines: { product_ids: ["POST"], product_id_pattern: "gift_[0-9_]+" } };
    const { ledger } = await lake.ingest("transactions", path, profile);
    expect(ledger.quarantine_reasons).toEqual({ bad_value: 1 });
    expect(await lake.query("SELECT product_id, line_type FROM transactions ORDER BY line_number")).toEqual([
      { product_id: "P1", line_type: "product" },
      { product_id: "POST", line_type: "non_product" },
      // The pattern matches the whole id: gift_0001_20 matches, xgift_1 does not.
      { product_id: "gift_0001_20", line_type: "non_product" },
      { product_id: "xgift_1", line_type: "product" },
      // The file says so: its value wins over the rule, in any case.
      { product_id: "P2", line_type: "non_product" },
      { product_id: "POST", line_type: "product" },
      { product_id: null, line_type: "product" },
    ]);
    const reasons = await lake.query("SELECT reason FROM quarantine");
    expect(reasons[0]?.reason).toBe('line_type "service" is not one of product, non_product');
  });

  it("leaves line_type NULL without a rule or a column, and old files without the column read it as NULL", async () => {
    const lake = await tempLake();
    await lake.ingest(
      "transactions",
      await lake.file("old.csv", `${HEADER}\no1,c1,2024-01-05,P1,,,,1,10.00,,\n`),
    );
    await lake.ingest(
      "transactions",
      await lake.file(
        "new.csv",
        "order_id,customer_id,ordered_at,product_id,amount,line_type\no2,c1,2024-01-06,POST,3.00,non_product\n",
      ),
    );
    expect(await lake.query("SELECT order_id, line_type FROM transactions ORDER BY order_id")).toEqual([
      { order_id: "o1", line_type: null },
      { order_id: "o2", line_type: "non_product" },
    ]);
  });

  it("counts exact duplicate lines in the ledger and keeps them by default", async () => {
    const lake = await tempLake();
    const lines = [
      "order_id,customer_id,ordered_at,amount",
      "o1,c1,2024-01-05,10.00",
      "o1,c1,2024-01-05,10.00",
      "o1,c1,2024-01-05,10.00",
      // Same values, other spelling: not an exact duplicate.
      "o1,c1,2024-01-05,10.0",
      // Duplicates without a customer count too, though quarantined for that.
      "o2,,2024-01-06,5.00",
      "o2,,2024-01-06,5.00",
      "",
    ];
    const { ledger } = await lake.ingest("transactions", await lake.file("dups.csv", lines.join("\n")));
    expect(ledger).toMatchObject({ rows_in: 6, rows_ok: 4, rows_quarantined: 2, rows_duplicate: 3 });
    expect(ledger.quarantine_reasons).toEqual({ missing_customer_id: 2 });
    expect(await lake.query("SELECT rows_duplicate FROM drops")).toEqual([{ rows_duplicate: "3" }]);
  });

  it("quarantines the later copies as duplicate_line with duplicate_lines = quarantine, in CSV and JSON Lines", async () => {
    const lake = await tempLake();
    const csv = await lake.file(
      "dups.csv",
      [
        "order_id,customer_id,ordered_at,amount",
        "o1,c1,2024-01-05,10.00",
        "o2,c1,2024-01-05,1.00",
        "o1,c1,2024-01-05,10.00",
        "",
      ].join("\n"),
    );
    const profile = { duplicate_lines: "quarantine" };
    const { ledger } = await lake.ingest("transactions", csv, profile);
    expect(ledger).toMatchObject({ rows_in: 3, rows_ok: 2, rows_quarantined: 1, rows_duplicate: 1 });
    expect(ledger.quarantine_reasons).toEqual({ duplicate_line: 1 });
    expect(await lake.query("SELECT order_id, line_number FROM transactions ORDER BY line_number")).toEqual([
      { order_id: "o1", line_number: "2" },
      { order_id: "o2", line_number: "3" },
    ]);
    expect(await lake.query("SELECT line_number, reason_code, raw FROM quarantine")).toEqual([
      {
        line_number: "4",
        reason_code: "duplicate_line",
        raw: '{"order_id":"o1","customer_id":"c1","ordered_at":"2024-01-05","amount":"10.00"}',
      },
    ]);

    const jsonl = await lake.file(
      "dups.jsonl",
      [
        '{"order_id":"o9","customer_id":"c9","ordered_at":"2024-01-05","amount":"1.00"}',
        '{"order_id":"o9","customer_id":"c9","ordered_at":"2024-01-05","amount":"1.00"}',
        '{"order_id":"o9","customer_id":"c9","ordered_at":"2024-01-05","amount":"2.00"}',
        "",
      ].join("\n"),
    );
    const json = await lake.ingest("transactions", jsonl, profile);
    expect(json.ledger).toMatchObject({ rows_in: 3, rows_ok: 2, rows_duplicate: 1 });
    expect(json.ledger.quarantine_reasons).toEqual({ duplicate_line: 1 });
  });

  it("refuses a non_product_lines pattern that is not a regular expression", async () => {
    const lake = await tempLake();
    const path = await lake.file("x.csv", "order_id,customer_id,ordered_at,amount\no1,c1,2024-01-05,1.00\n");
    await expect(
      lake.ingest("transactions", path, { non_product_lines: { product_id_pattern: "gift_(" } }),
    ).rejects.toThrow(/non_product_lines.product_id_pattern: not a regular expression/);
  });

  it("refuses a pattern JavaScript reads but DuckDB's RE2 does not (a lookahead), naming the profile's field", async () => {
    const lake = await tempLake();
    const path = await lake.file(
      "x.csv",
      "order_id,customer_id,ordered_at,product_id,amount\no1,c1,2024-01-05,gift_1,1.00\n",
    );
    const failure = await lake
      .ingest("transactions", path, { non_product_lines: { product_id_pattern: "(?!P)gift_.*" } })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: "ConfigError", code: "bad_profile" });
    expect((failure as Error).message).toMatch(
      /^Source profile .*: non_product_lines\.product_id_pattern "\(\?!P\)gift_\.\*" is not a regular expression DuckDB reads \(RE2: no lookahead, lookbehind or backreference\): .*invalid perl operator/,
    );
    expect((failure as Error).message).not.toContain("\n");
  });
});

describe("business days (ADR 0016)", () => {
  it("records the first and last day of the ok rows' order dates in calendar.time_zone", async () => {
    const lake = await tempLake();
    const path = await lake.file(
      "days.csv",
      [
        HEADER,
        // UTC 2024-02-29 23:30 is 2024-03-01 00:30 in Berlin (CET), and UTC 2024-03-31 22:30 is 2024-04-01 00:30
        // (CEST since that night): the business days are Berlin's.
        "o1,c1,2024-02-29T23:30:00Z,p1,books,web,s1,1,10.00,,",
        "o2,c1,2024-03-31T22:30:00Z,p1,books,web,s1,1,10.00,,",
        "o4,c1,2024-03-15 12:00:00,p1,books,web,s1,1,10.00,,",
        // Quarantined (no customer): its date counts for nothing.
        "o3,,2024-01-15 12:00:00,p1,books,web,s1,1,10.00,,",
      ].join("\n"),
    );
    const { ledger } = await ingestDrop({
      store: lake.store,
      dataset: "transactions",
      source: { localPath: path, uri: path },
      workDir: lake.root,
      duckdb: { threads: 2, memoryLimit: "512MB" },
      calendar: { ...defaultConfig().calendar, time_zone: "Europe/Berlin" },
    });
    expect(ledger).toMatchObject({
      rows_ok: 3,
      rows_quarantined: 1,
      first_business_day: "2024-03-01",
      last_business_day: "2024-04-01",
    });
  });

  it("records none for a dataset without dates of things that happened, and for a drop with no ok row", async () => {
    const lake = await tempLake();
    const products = await lake.file("products.csv", "product_id,category\np1,books\n");
    expect((await lake.ingest("products", products)).ledger).toMatchObject({
      first_business_day: null,
      last_business_day: null,
    });
    const empty = await lake.file("empty.csv", `${HEADER}\n`);
    expect((await lake.ingest("transactions", empty)).ledger).toMatchObject({
      first_business_day: null,
      last_business_day: null,
    });
  });

  it("takes a sign-up date as it is", async () => {
    const lake = await tempLake();
    const path = await lake.file(
      "customers.csv",
      "customer_id,signed_up_at\nc1,2023-05-02\nc2,2021-01-09\nc3,\n",
    );
    expect((await lake.ingest("customers", path)).ledger).toMatchObject({
      first_business_day: "2021-01-09",
      last_business_day: "2023-05-02",
    });
  });
});
