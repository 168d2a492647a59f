// Runs the MCP Inspector's CLI mode (@modelcontextprotocol/inspector-cli, what
// `npx @modelcontextprotocol/inspector --cli` starts) with the arguments given, e.g.
//   node inspector_cli.mjs <orch-binary> mcp --method tools/list
//   node inspector_cli.mjs http://127.0.0.1:PORT/mcp --transport http --header "Authorization: Bearer T" --method tools/call --tool-name diagnose
// The CLI looks for its package.json relative to the working directory (`fs.existsSync("../package.json")`),
// so it is run from its own build directory; a relative orch path is made absolute first.
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
const build = dirname(require.resolve("@modelcontextprotocol/inspector-cli/package.json")) + "/build";
const args = process.argv.slice(2).map((a, i) => (i === 0 && existsSync(a) ? resolve(a) : a));
process.chdir(build);
process.argv = [process.argv[0], build + "/index.js", ...args];
await import(pathToFileURL(build + "/index.js").href);
