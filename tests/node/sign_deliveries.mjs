// Makes distinct Builder.io publish deliveries (the current payload shape of REAL-APIS.md: newValue,
// previousValue, modelName, operation; a page entry with its urlPath query) and signs each one with
// the Standard Webhooks reference library (npm `standardwebhooks`), so the load the chaos test and
// the soak drive is verified by orch against code it did not write.
//   node sign_deliveries.mjs <whsec_secret> <prefix> <first> <count>   count deliveries, then exit
//   node sign_deliveries.mjs <whsec_secret> <prefix> <first> 0          forever (the soak): each
//        line is signed when it is written, so its timestamp stays fresh however long the run
// One line per delivery, tab-separated (JSON.stringify escapes tabs and newlines in the body):
//   <webhook-id> TAB <webhook-timestamp> TAB <webhook-signature> TAB <body>
// Delivery n has webhook-id `<prefix>-<n>`, entry id `<prefix>-<n>` and lastUpdated 1732470000000 + n.
// Written with blocking writes: a reader that falls behind holds the signer back (a full pipe),
// and one that goes away ends it (EPIPE).
import { writeSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const [secret, prefix, firstArg, countArg] = process.argv.slice(2);
if (!secret || !prefix || firstArg === undefined || countArg === undefined) {
  process.stderr.write("usage: node sign_deliveries.mjs <secret> <prefix> <first> <count|0>\n");
  process.exit(64);
}
const wh = new Webhook(secret);
const first = Number(firstArg);
const count = Number(countArg);
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function entry(n) {
  const id = `${prefix}-${n}`;
  return {
    id,
    name: `Chaos page ${n}`,
    modelId: "mdl-page",
    published: "published",
    query: [{ property: "urlPath", operator: "is", value: `/chaos/${id}` }],
    data: {
      title: `Chaos page ${n}`,
      blocks: [{ "@type": "@builder.io/sdk:Element", component: { name: "Text", options: { text: `text of ${id}` } } }],
    },
    lastUpdated: 1732470000000 + n,
    createdDate: 1732470000000,
    createdBy: "chaos",
    meta: { kind: "page" },
    variations: {},
    testRatio: 1,
  };
}

function line(n) {
  const body = JSON.stringify({ newValue: entry(n), previousValue: null, modelName: "page", operation: "publish" });
  const msgId = `${prefix}-${n}`;
  const now = new Date();
  const signature = wh.sign(msgId, now, body);
  return `${msgId}\t${Math.floor(now.getTime() / 1000)}\t${signature}\t${body}\n`;
}

function writeAll(text) {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      const n = writeSync(1, buf);
      buf = buf.subarray(n);
    } catch (e) {
      if (e.code === "EAGAIN") {
        Atomics.wait(sleeper, 0, 0, 2);  // stdout was made non-blocking by someone: wait for room
        continue;
      }
      if (e.code === "EPIPE") process.exit(0);  // the reader is gone
      throw e;
    }
  }
}

const chunk = 200;
for (let n = first; count === 0 || n < first + count; ) {
  let out = "";
  const end = count === 0 ? n + chunk : Math.min(first + count, n + chunk);
  for (; n < end; ++n) out += line(n);
  writeAll(out);
}
