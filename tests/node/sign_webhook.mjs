// Signs a webhook body with the Standard Webhooks reference libraries (npm `standardwebhooks` and
// `svix`), so that orch's verification is checked against code it did not write. Prints one JSON
// object: {"standardwebhooks": "v1,...", "svix": "v1,...", "emptyKey": "v1,..."}; emptyKey is what
// an attacker sends when a secret decodes to nothing (HMAC with an empty key).
//   node sign_webhook.mjs <secret> <msg-id> <unix-seconds> <body-file>
import { readFileSync } from "node:fs";
import { createHmac } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import svix from "svix";

const [secret, msgId, seconds, bodyFile] = process.argv.slice(2);
const body = readFileSync(bodyFile, "utf8");
const when = new Date(Number(seconds) * 1000);
const out = {
  standardwebhooks: new StandardWebhook(secret).sign(msgId, when, body),
  svix: new svix.Webhook(secret).sign(msgId, when, body),
  emptyKey: "v1," + createHmac("sha256", Buffer.alloc(0)).update(`${msgId}.${seconds}.${body}`).digest("base64"),
};
console.log(JSON.stringify(out));
