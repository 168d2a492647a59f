// Runs the official MCP conformance CLI (@modelcontextprotocol/conformance) on the Node here.
// The CLI imports `globSync` from `fs`, which Node 22 has and Node 20 does not: a load hook gives
// it the `glob` package's globSync instead (same call shape), and leaves everything else alone.
//   node conformance.mjs server --url http://127.0.0.1:PORT/mcp --scenario server-initialize ...
import { register } from "node:module";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  const hook = `
export async function load(url, context, nextLoad) {
  const r = await nextLoad(url, context);
  if (!url.includes("/@modelcontextprotocol/conformance/dist/")) return r;
  let src = String(r.source);
  src = src.replace(/import\\{([^}]*)\\}from"fs"/, (all, names) => {
    const list = names.split(",");
    const glob = list.find((n) => n.startsWith("globSync"));
    if (!glob) return all;
    return 'import{' + list.filter((n) => n !== glob).join(",") + '}from"fs";import{' + glob + '}from"glob"';
  });
  return { ...r, source: src };
}`;
  register("data:text/javascript," + encodeURIComponent(hook), import.meta.url);
}
const require = createRequire(import.meta.url);
const cli = require.resolve("@modelcontextprotocol/conformance/package.json").replace(/package\.json$/, "dist/index.js");
process.argv = [process.argv[0], cli, ...process.argv.slice(2)];
await import(pathToFileURL(cli).href);
