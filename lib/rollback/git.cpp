#include "rollback/git.hpp"

#include <git2.h>

#include <algorithm>
#include <fnmatch.h>
#include <memory>

#include "core/error.hpp"

namespace orch::rollback {
namespace {

struct Libgit2 {
  Libgit2() { git_libgit2_init(); }
  ~Libgit2() { git_libgit2_shutdown(); }
};

void check(int rc, const std::string& what) {
  if (rc >= 0) return;
  const git_error* e = git_error_last();
  throw OperationError(what + ": " + (e && e->message ? e->message : "libgit2 error " + std::to_string(rc)));
}

template <class T, void (*Free)(T*)>
struct Owned {
  T* p = nullptr;
  ~Owned() {
    if (p) Free(p);
  }
  T** out() { return &p; }
  T* get() const { return p; }
};
using Repo = Owned<git_repository, git_repository_free>;
using Object = Owned<git_object, git_object_free>;
using Commit = Owned<git_commit, git_commit_free>;
using Tree = Owned<git_tree, git_tree_free>;
using Ref = Owned<git_reference, git_reference_free>;
using Sig = Owned<git_signature, git_signature_free>;
using Status = Owned<git_status_list, git_status_list_free>;

std::string oid_str(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

struct Release {
  std::string name;
  git_oid commit;
  git_time_t time;
};

std::vector<Release> releases(git_repository* repo, const std::string& pattern) {
  git_strarray names{};
  check(git_tag_list_match(&names, pattern.c_str(), repo), "list tags");
  std::vector<Release> out;
  for (size_t i = 0; i < names.count; ++i) {
    Object obj;
    if (git_revparse_single(obj.out(), repo, (std::string("refs/tags/") + names.strings[i]).c_str()) < 0) continue;
    Object peeled;
    if (git_object_peel(peeled.out(), obj.get(), GIT_OBJECT_COMMIT) < 0) continue;
    auto* c = reinterpret_cast<git_commit*>(peeled.get());
    out.push_back({names.strings[i], *git_commit_id(c), git_commit_time(c)});
  }
  git_strarray_dispose(&names);
  std::sort(out.begin(), out.end(), [](const Release& a, const Release& b) { return a.time > b.time || (a.time == b.time && a.name > b.name); });
  return out;
}

bool dirty(git_repository* repo) {
  git_status_options opts = GIT_STATUS_OPTIONS_INIT;
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  opts.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;  // untracked files do not block a rollback
  Status list;
  check(git_status_list_new(list.out(), repo, &opts), "status");
  return git_status_list_entrycount(list.get()) > 0;
}

}  // namespace

json GitResult::to_json() const {
  json j = {{"repo", repo}, {"from", from}, {"to", to}, {"mode", mode}, {"from_commit", from_commit},
            {"to_commit", to_commit}, {"dry_run", dry_run}};
  if (!new_commit.empty()) j["new_commit"] = new_commit;
  return j;
}

std::vector<std::string> list_releases(const std::string& path, const std::string& pattern) {
  Libgit2 lib;
  Repo repo;
  check(git_repository_open(repo.out(), path.c_str()), "open " + path);
  std::vector<std::string> out;
  for (const auto& r : releases(repo.get(), pattern)) out.push_back(r.name);
  return out;
}

GitResult rollback_repo(const GitOptions& o) {
  if (o.mode != "checkout" && o.mode != "revert") throw UsageError("--mode must be checkout or revert");
  if (o.to.empty() && o.steps < 1) throw UsageError("--steps must be 1 or more");
  Libgit2 lib;
  Repo repo;
  if (git_repository_open(repo.out(), o.repo.c_str()) < 0) throw UsageError("'" + o.repo + "' is not a git repository");
  GitResult r;
  r.repo = o.repo;
  r.mode = o.mode;
  r.dry_run = o.dry_run;

  Object head_obj;
  check(git_revparse_single(head_obj.out(), repo.get(), "HEAD^{commit}"), "resolve HEAD");
  auto* head = reinterpret_cast<git_commit*>(head_obj.get());
  const git_oid head_id = *git_commit_id(head);
  r.from_commit = oid_str(&head_id);
  auto rels = releases(repo.get(), o.tag_pattern);
  r.from = r.from_commit.substr(0, 12);
  for (const auto& rel : rels)
    if (git_oid_equal(&rel.commit, &head_id)) {
      r.from = rel.name;
      break;
    }

  git_oid target{};
  if (!o.to.empty()) {
    Object obj;
    if (git_revparse_single(obj.out(), repo.get(), (o.to + "^{commit}").c_str()) < 0) throw UsageError("unknown ref '" + o.to + "'");
    target = *git_object_id(obj.get());
    r.to = o.to;
  } else if (!rels.empty()) {
    // Releases older than HEAD, newest first; step 1 is the one before the current.
    std::vector<const Release*> older;
    for (const auto& rel : rels)
      if (!git_oid_equal(&rel.commit, &head_id) && rel.time <= git_commit_time(head)) older.push_back(&rel);
    if (static_cast<int>(older.size()) < o.steps)
      throw UsageError("there are only " + std::to_string(older.size()) + " releases (" + o.tag_pattern + ") before " + r.from);
    target = older[o.steps - 1]->commit;
    r.to = older[o.steps - 1]->name;
  } else {
    Object obj;
    std::string spec = "HEAD~" + std::to_string(o.steps);
    if (git_revparse_single(obj.out(), repo.get(), (spec + "^{commit}").c_str()) < 0)
      throw UsageError("no tags match '" + o.tag_pattern + "' and " + spec + " does not exist");
    target = *git_object_id(obj.get());
    r.to = spec;
  }
  r.to_commit = oid_str(&target);
  if (git_oid_equal(&target, &head_id)) throw UsageError("already at " + r.to);
  if (dirty(repo.get()) && !o.force) throw OperationError(o.repo + " has uncommitted changes; commit or stash them, or use --force");
  if (o.dry_run) return r;

  Commit target_commit;
  check(git_commit_lookup(target_commit.out(), repo.get(), &target), "look up " + r.to);
  git_checkout_options co = GIT_CHECKOUT_OPTIONS_INIT;
  co.checkout_strategy = o.force ? GIT_CHECKOUT_FORCE : GIT_CHECKOUT_SAFE;
  if (o.mode == "checkout") {
    check(git_checkout_tree(repo.get(), reinterpret_cast<git_object*>(target_commit.get()), &co), "checkout " + r.to);
    check(git_repository_set_head_detached(repo.get(), &target), "move HEAD to " + r.to);
    return r;
  }
  // revert: a new commit on top of HEAD with the release's tree.
  Tree tree;
  check(git_commit_tree(tree.out(), target_commit.get()), "tree of " + r.to);
  Sig sig;
  check(git_signature_now(sig.out(), o.author_name.c_str(), o.author_email.c_str()), "signature");
  const std::string message = "Revert to " + r.to + " (orch rollback from " + r.from + ")\n\nThis reverts the tree to " +
                              r.to_commit + ".\n";
  git_oid new_id;
  const git_commit* parents[] = {head};
  check(git_commit_create(&new_id, repo.get(), "HEAD", sig.get(), sig.get(), nullptr, message.c_str(), tree.get(), 1, parents),
        "create the revert commit");
  r.new_commit = oid_str(&new_id);
  Commit created;
  check(git_commit_lookup(created.out(), repo.get(), &new_id), "look up the revert commit");
  co.checkout_strategy = GIT_CHECKOUT_FORCE;  // HEAD moved: bring the worktree to it
  check(git_checkout_tree(repo.get(), reinterpret_cast<git_object*>(created.get()), &co), "update the worktree");
  return r;
}

}  // namespace orch::rollback
