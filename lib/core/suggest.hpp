#pragma once
// "Did you mean ...?" for names people type: config keys (config/config.cpp) and subcommands
// (cmd/main.cpp) take their suggestion from this one helper, so both answer alike.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace orch {

// Damerau-Levenshtein distance (optimal string alignment: insertions, deletions, substitutions and
// swaps of two neighbours each cost 1), ASCII case-insensitive: "contianer" is 1 from "container".
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, when it is near enough to be what was meant: at most 2 edits, or
// a third of the word's length for longer words, and fewer edits than the word has letters (so
// "x" suggests nothing). Ties go to the earlier candidate; nullopt when none is near.
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace orch
