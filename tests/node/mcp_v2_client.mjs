// Drives orch's MCP server with the official TypeScript SDK v2 client (@modelcontextprotocol/client)
// in one version-negotiation mode and prints one JSON summary.
//   node mcp_v2_client.mjs <legacy|auto|2026-07-28> stdio <orch-binary> [orch mcp args...]
//   node mcp_v2_client.mjs <legacy|auto|2026-07-28> http <http://127.0.0.1:PORT> <token> [webhook-secret]
// It also follows orch://events/recent (subscriptions/listen on a 2026-07-28 connection,
// resources/subscribe on a legacy one) and makes an event: a webhook when given its secret, else a
// sync_test that fails fast (it publishes on the bus too).
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

const [negotiation, mode, target, ...rest] = process.argv.slice(2);
const summary = { negotiation, mode };
const versionNegotiation = { mode: negotiation === "legacy" || negotiation === "auto" ? negotiation : { pin: negotiation } };
const client = new Client({ name: "orch-test-v2", version: "1.0.0" }, { versionNegotiation });
// What orch sent outside responses (progress, log messages), by method.
const notes = {};
client.fallbackNotificationHandler = async (n) => {
  notes[n.method] = (notes[n.method] ?? 0) + 1;
};
const updates = [];
client.setNotificationHandler("notifications/resources/updated", (n) => {
  updates.push({ uri: n.params.uri, subscriptionId: n.params._meta?.["io.modelcontextprotocol/subscriptionId"] ?? null });
});
let transport;
if (mode === "stdio") {
  transport = new StdioClientTransport({ command: target, args: ["mcp", ...rest], env: { ...process.env }, stderr: "ignore" });
} else {
  transport = new StreamableHTTPClientTransport(new URL(target + "/mcp"), {
    requestInit: { headers: { Authorization: `Bearer ${rest[0]}` } },
  });
}

try {
  await client.connect(transport);
  summary.era = client.getProtocolEra?.() ?? null;
  summary.protocol = client.getNegotiatedProtocolVersion() ?? null;
  summary.server = client.getServerVersion() ?? null;
  summary.sessionId = transport.sessionId ?? null;
  const tools = await client.listTools();
  summary.tools = tools.tools.map((t) => t.name);
  summary.titles = Object.fromEntries(tools.tools.map((t) => [t.name, t.title ?? null]));
  const diag = await client.callTool({ name: "diagnose", arguments: {} });
  summary.diagnose = { isError: diag.isError, exit_code: diag.structuredContent?.exit_code ?? null };
  // Progress through the SDK's own onprogress (it sends the progressToken and routes the notes).
  // HTTP only: over stdio the SDK handles a response before the notifications read just ahead of
  // it (they are dispatched asynchronously), so an instant tool's progress reaches it too late.
  if (mode === "http") {
    const progress = [];
    const withProgress = await client.callTool({ name: "diagnose", arguments: {} }, { onprogress: (p) => progress.push(p) });
    summary.progress = { isError: withProgress.isError, messages: progress.map((p) => p.message) };
  }
  const bad = await client.callTool({ name: "container_logs", arguments: { container: "x", tail: "x" } });
  summary.argumentError = { isError: bad.isError, text: bad.content?.[0]?.text };
  try {
    await client.callTool({ name: "no_such_tool", arguments: {} });
    summary.unknownTool = "no error";
  } catch (e) {
    summary.unknownTool = e.code ?? String(e);
  }
  const resources = await client.listResources();
  summary.resources = resources.resources.map((r) => r.uri);
  const status = await client.readResource({ uri: "orch://status" });
  summary.statusRead = typeof status.contents?.[0]?.text === "string";
  try {
    await client.readResource({ uri: "orch://nope" });
    summary.unknownResource = "no error";
  } catch (e) {
    summary.unknownResource = e.code ?? String(e);
  }

  let subscription = null;
  if (summary.era === "modern") {
    subscription = await client.listen({ resourceSubscriptions: ["orch://events/recent", "orch://nope"] });
    summary.honored = subscription.honoredFilter;
  } else {
    await client.subscribeResource({ uri: "orch://events/recent" });
  }
  if (mode === "http" && rest[1]) {
    const body = JSON.stringify({ modelName: "page", operation: "publish",
      newValue: { id: "v2-" + negotiation + "-" + Date.now(), name: "x", lastUpdated: Date.now(), data: { url: "/x" } } });
    const res = await fetch(target + "/webhook/builder", { method: "POST", body,
      headers: { "Content-Type": "application/json", "x-builder-secret": rest[1] } });
    summary.webhookStatus = res.status;
  } else {
    await client.callTool({ name: "sync_test", arguments: { timeout: "1s" } });
  }
  const deadline = Date.now() + 10000;
  while (updates.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  summary.updates = updates;
  if (subscription) {
    await subscription.close();
    summary.closed = await subscription.closed;
  }
  summary.notes = notes;
  summary.ok = true;
} catch (e) {
  summary.ok = false;
  summary.error = String(e?.stack ?? e);
} finally {
  await client.close().catch(() => {});
}
console.log(JSON.stringify(summary));
