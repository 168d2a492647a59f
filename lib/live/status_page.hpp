#pragma once
#include <string>

namespace orch::live {
// The status page: one self-contained HTML document (inline CSS and JS, no external assets).
const std::string& status_page_html();
}  // namespace orch::live
