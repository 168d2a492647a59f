// The commit orch was built from. The one file the commit reaches: on any other source, each commit
// (the test script reconfigures) would rebuild it and its whole unity batch.
namespace orch::cli {
const char* git_commit();
const char* git_commit() { return ORCH_GIT_COMMIT; }
}  // namespace orch::cli
