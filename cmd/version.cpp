// orch version: version and build information.
#include <curl/curlver.h>
#include <iostream>

#include "cli.hpp"
#include "core/json.hpp"
#include "core/text.hpp"

namespace orch::cli {
namespace {

Registrar register_version(
    {"version", 90, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
       sub = root.add_subcommand("version", "Print version and build information");
       return std::function<int()>([&g] {
         json info = {{"version", ORCH_VERSION}, {"commit", git_commit()}, {"compiler", __VERSION__}, {"cplusplus", __cplusplus}};
         if (structured(g)) print_document(g, info);
         else if (!g.quiet) std::cout << "orch " << ORCH_VERSION << " (commit " << git_commit() << ", gcc " << __VERSION__ << ")\n";
         return 0;
       });
     }});

}  // namespace
}  // namespace orch::cli
