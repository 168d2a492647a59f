#pragma once
#include <string>

namespace orch::live {
// The status page: one self-contained HTML document (inline CSS and JS, no external assets).
const std::string& status_page_html();
// What a browser without the token gets (status 401): a form that asks for it.
const std::string& login_page_html();
}  // namespace orch::live
