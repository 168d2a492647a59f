// A real WebSocket client (the `ws` package) for GET /ws. Prints one line per happening:
//   open | message <json> | pong <payload> | close <code> <reason> | http <status> | error <text>
//   node ws_client.mjs <ws://host:port/ws?...> <count> [bearer-token]
// After <count> messages it pings, waits for the pong, closes with 1000 and waits for the
// server's close; with count 0 it only waits for the server to close.
import WebSocket from "ws";

const [url, countArg, token] = process.argv.slice(2);
const want = Number(countArg);
const headers = token ? { Authorization: `Bearer ${token}` } : {};
const ws = new WebSocket(url, { headers });
let got = 0;
const say = (line) => process.stdout.write(line + "\n");
setTimeout(() => { say("error timeout"); process.exit(2); }, 20000).unref();

ws.on("unexpected-response", (_req, res) => { say(`http ${res.statusCode}`); process.exit(1); });
ws.on("error", (e) => { say(`error ${e.message}`); process.exit(1); });
ws.on("open", () => say("open"));
ws.on("message", (data, isBinary) => {
  say(`message ${isBinary ? "binary" : data.toString()}`);
  if (++got === want) ws.ping("are-you-there");
});
ws.on("pong", (data) => { say(`pong ${data.toString()}`); ws.close(1000, "done"); });
ws.on("close", (code, reason) => { say(`close ${code} ${reason.toString()}`); process.exit(0); });
