// Tests for daemon/key_store.h on a real temporary directory: what is written (mode, content,
// atomic replacement), what is refused on read (symlinks, modes, owners, CRLF, size, FIFOs), VM
// names that must never become paths, and the listing.
#include "daemon/key_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace qvmr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kKey = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
const std::string kKey2 = std::string(64, '0');
constexpr const char* kKeyFingerprint = "aa23e893b52d03b0";   // printf %s KEY | sha256sum
constexpr const char* kKey2Fingerprint = "60e05bd1b195af2f";  // ... | cut -c1-16

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qvmr-keys-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/etc/qubes/remote.d";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Writes a key file by hand, as an administrator might have.
  void WriteRaw(const std::string& name, const std::string& data, mode_t mode = 0600) {
    std::filesystem::create_directories(dir_);
    ::chmod(dir_.c_str(), 0700);
    std::string path = dir_ + "/" + name;
    { std::ofstream(path, std::ios::binary) << data; }
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }

  static std::string FileText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static mode_t Mode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  KeyLookup MustRead(KeyStore& store, const std::string& vm) {
    auto lookup = store.Read(vm);
    EXPECT_TRUE(lookup.ok()) << lookup.error().message;
    return lookup.ok() ? *lookup : KeyLookup{};
  }

  std::string root_;
  std::string dir_;
};

// ---------------------------------------------------------------------------------------------
// Authorize and Read

TEST_F(KeyStoreTest, AuthorizeCreatesA0700DirectoryAndA0600FileHoldingTheKeyAndANewline) {
  KeyStore store(dir_);
  ASSERT_TRUE(store.Authorize("work", kKey));
  EXPECT_EQ(Mode(dir_), 0700u);
  EXPECT_EQ(Mode(dir_ + "/work.key"), 0600u);
  EXPECT_EQ(FileText(dir_ + "/work.key"), kKey + "\n");
  KeyLookup lookup = MustRead(store, "work");
  EXPECT_EQ(lookup.problem, KeyProblem::kNone);
  EXPECT_EQ(lookup.key, kKey);
  EXPECT_EQ(lookup.reason, "");
}

TEST_F(KeyStoreTest, AuthorizeLowercasesAndReplacesThePreviousKey) {
  KeyStore store(dir_);
  ASSERT_TRUE(store.Authorize("work", kKey2));
  std::string upper = kKey;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_TRUE(store.Authorize("work", upper + "\n"));
  EXPECT_EQ(MustRead(store, "work").key, kKey);
  // No temporary file is left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(KeyStoreTest, AuthorizeRefusesABadKeyWithoutQuotingItOrWritingAFile) {
  KeyStore store(dir_);
  Status s = store.Authorize("work", kKey + "\r\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "bad-key");
  EXPECT_THAT(s.error().message, Not(HasSubstr(kKey.substr(0, 16))));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/work.key"));
}

TEST_F(KeyStoreTest, AuthorizeRefusesADirectoryOthersMayWrite) {
  std::filesystem::create_directories(dir_);
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  KeyStore store(dir_);
  Status s = store.Authorize("work", kKey);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "untrusted");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/work.key"));
}

TEST_F(KeyStoreTest, AuthorizeReplacesASymlinkAtTheKeyPathWithoutFollowingIt) {
  WriteRaw("victim", "do not touch\n", 0600);
  std::filesystem::create_symlink(dir_ + "/victim", dir_ + "/work.key");
  KeyStore store(dir_);
  ASSERT_TRUE(store.Authorize("work", kKey));
  EXPECT_EQ(FileText(dir_ + "/victim"), "do not touch\n");
  EXPECT_FALSE(std::filesystem::is_symlink(dir_ + "/work.key"));
  EXPECT_EQ(MustRead(store, "work").key, kKey);
}

TEST_F(KeyStoreTest, AMissingKeyFileIsNoKey) {
  KeyStore store(dir_);
  KeyLookup lookup = MustRead(store, "work");
  EXPECT_EQ(lookup.problem, KeyProblem::kMissing);
  EXPECT_FALSE(lookup.key.has_value());
}

TEST_F(KeyStoreTest, AKeyFileTheReferenceWroteWithoutANewlineIsRead) {
  WriteRaw("work.key", kKey);
  KeyStore store(dir_);
  EXPECT_EQ(MustRead(store, "work").key, kKey);
}

// Each file is refused with its problem; the reason never quotes the key.
TEST_F(KeyStoreTest, KeyFilesThatCannotBeTrustedOrParsedAreNoKey) {
  const struct {
    const char* why;
    std::string data;
    mode_t mode;
    KeyProblem problem;
    const char* reason;
  } kCases[] = {
      {"world-readable 0644", kKey + "\n", 0644, KeyProblem::kUntrusted, "0644"},
      {"group-readable 0640", kKey + "\n", 0640, KeyProblem::kUntrusted, "0640"},
      {"group-writable 0620", kKey + "\n", 0620, KeyProblem::kUntrusted, "0620"},
      {"CRLF", kKey + "\r\n", 0600, KeyProblem::kInvalid, "\\r\\n"},
      {"63 digits", kKey.substr(1) + "\n", 0600, KeyProblem::kInvalid, "63"},
      {"two lines", kKey + "\n" + kKey2 + "\n", 0600, KeyProblem::kInvalid, "characters"},
      {"empty", "", 0600, KeyProblem::kInvalid, "got 0"},
      {"over 4 KiB", std::string(5000, 'a'), 0600, KeyProblem::kInvalid, "4096"},
  };
  KeyStore store(dir_);
  for (const auto& c : kCases) {
    WriteRaw("work.key", c.data, c.mode);
    KeyLookup lookup = MustRead(store, "work");
    EXPECT_EQ(lookup.problem, c.problem) << c.why << ": " << lookup.reason;
    EXPECT_FALSE(lookup.key.has_value()) << c.why;
    EXPECT_THAT(lookup.reason, HasSubstr(c.reason)) << c.why;
    EXPECT_THAT(lookup.reason, Not(HasSubstr(kKey.substr(0, 16)))) << c.why;
  }
}

TEST_F(KeyStoreTest, ASymlinkedKeyFileIsRefusedEvenWhenItsTargetIsAGoodKey) {
  WriteRaw("real", kKey + "\n", 0600);
  std::filesystem::create_symlink(dir_ + "/real", dir_ + "/work.key");
  KeyStore store(dir_);
  KeyLookup lookup = MustRead(store, "work");
  EXPECT_EQ(lookup.problem, KeyProblem::kUntrusted);
  EXPECT_THAT(lookup.reason, HasSubstr("symlink"));
}

TEST_F(KeyStoreTest, AFifoAtTheKeyPathIsRefusedWithoutBlocking) {
  std::filesystem::create_directories(dir_);
  ::chmod(dir_.c_str(), 0700);
  ASSERT_EQ(::mkfifo((dir_ + "/work.key").c_str(), 0600), 0);
  KeyStore store(dir_);
  KeyLookup lookup = MustRead(store, "work");
  EXPECT_EQ(lookup.problem, KeyProblem::kUntrusted);
  EXPECT_THAT(lookup.reason, HasSubstr("not a regular file"));
}

TEST_F(KeyStoreTest, AKeyInADirectoryOthersMayWriteIsRefused) {
  WriteRaw("work.key", kKey + "\n");
  ASSERT_EQ(::chmod(dir_.c_str(), 0770), 0);
  KeyStore store(dir_);
  KeyLookup lookup = MustRead(store, "work");
  EXPECT_EQ(lookup.problem, KeyProblem::kUntrusted);
  EXPECT_THAT(lookup.reason, HasSubstr(dir_));
}

TEST_F(KeyStoreTest, AKeyFileOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root can give a file to another user";
  WriteRaw("work.key", kKey + "\n");
  ASSERT_EQ(::chown((dir_ + "/work.key").c_str(), 12345, 12345), 0);
  KeyStore store(dir_);
  KeyLookup lookup = MustRead(store, "work");
  EXPECT_EQ(lookup.problem, KeyProblem::kUntrusted);
  EXPECT_THAT(lookup.reason, HasSubstr("uid 12345"));
}

TEST_F(KeyStoreTest, ARevokeTakesEffectAtTheNextRead) {
  KeyStore store(dir_);
  ASSERT_TRUE(store.Authorize("work", kKey));
  ASSERT_EQ(MustRead(store, "work").key, kKey);
  ASSERT_TRUE(store.Revoke("work"));
  EXPECT_EQ(MustRead(store, "work").problem, KeyProblem::kMissing);
}

TEST_F(KeyStoreTest, RevokingAVmWithoutAKeyIsAnError) {
  KeyStore store(dir_);
  Status s = store.Revoke("work");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "no-key");
  EXPECT_EQ(s.error().message, "no key for VM work");
}

TEST_F(KeyStoreTest, RevokeRemovesASymlinkNotItsTarget) {
  WriteRaw("real", "keep me\n", 0600);
  std::filesystem::create_symlink(dir_ + "/real", dir_ + "/work.key");
  KeyStore store(dir_);
  ASSERT_TRUE(store.Revoke("work"));
  EXPECT_FALSE(std::filesystem::is_symlink(dir_ + "/work.key"));
  EXPECT_EQ(FileText(dir_ + "/real"), "keep me\n");
}

// ---------------------------------------------------------------------------------------------
// Hostile VM names never become paths

TEST_F(KeyStoreTest, NamesThatAreNotQubesVmNamesAreRefusedBeforeTheyTouchTheFilesystem) {
  const std::string kBadNames[] = {"",
                                   "../x",
                                   "a/b",
                                   "..",
                                   ".",
                                   ".hidden",
                                   "-x",
                                   "1abc",
                                   "a b",
                                   "a\nb",
                                   std::string("a\0b", 3),
                                   std::string(32, 'a'),
                                   "work.key/../../x",
                                   "/etc/passwd",
                                   "a*",
                                   "é"};
  std::filesystem::create_directories(root_ + "/etc/qubes");
  KeyStore store(dir_);
  for (const std::string& vm : kBadNames) {
    auto read = store.Read(vm);
    ASSERT_FALSE(read.ok()) << vm;
    EXPECT_EQ(read.error().code, "bad-vm-name") << vm;
    Status authorized = store.Authorize(vm, kKey);
    ASSERT_FALSE(authorized.ok()) << vm;
    EXPECT_EQ(authorized.error().code, "bad-vm-name") << vm;
    Status revoked = store.Revoke(vm);
    ASSERT_FALSE(revoked.ok()) << vm;
    EXPECT_EQ(revoked.error().code, "bad-vm-name") << vm;
  }
  // Nothing was created: not the key directory, nor anything beside it.
  EXPECT_FALSE(std::filesystem::exists(dir_));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::recursive_directory_iterator(root_)) {
    ++entries;
  }
  EXPECT_EQ(entries, 2);  // etc, etc/qubes
}

TEST_F(KeyStoreTest, TheLongestQubesNameIsAccepted) {
  KeyStore store(dir_);
  std::string vm = "a" + std::string(30, '-');
  ASSERT_TRUE(store.Authorize(vm, kKey));
  EXPECT_EQ(MustRead(store, vm).key, kKey);
}

// ---------------------------------------------------------------------------------------------
// List

TEST_F(KeyStoreTest, ListShowsEachVmWithItsFingerprintSortedAndSkipsOtherNames) {
  KeyStore store(dir_);
  ASSERT_TRUE(store.Authorize("work", kKey));
  ASSERT_TRUE(store.Authorize("mail", kKey2));
  WriteRaw("broken.key", kKey + "\r\n");
  WriteRaw("README", "not a key\n");
  WriteRaw("work.key.tmp.123", kKey + "\n");
  WriteRaw("1abc.key", kKey + "\n");
  WriteRaw(".key", kKey + "\n");
  WriteRaw("bad name.key", kKey + "\n");
  std::filesystem::create_directory(dir_ + "/dir.key");  // a directory: listed as untrusted

  auto keys = store.List();
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->size(), 4u);
  EXPECT_EQ((*keys)[0].vm, "broken");
  EXPECT_EQ((*keys)[0].problem, KeyProblem::kInvalid);
  EXPECT_EQ((*keys)[0].fingerprint, "");
  EXPECT_EQ((*keys)[1].vm, "dir");
  EXPECT_EQ((*keys)[1].problem, KeyProblem::kUntrusted);
  EXPECT_EQ((*keys)[2].vm, "mail");
  EXPECT_EQ((*keys)[2].fingerprint, kKey2Fingerprint);
  EXPECT_EQ((*keys)[3].vm, "work");
  EXPECT_EQ((*keys)[3].fingerprint, kKeyFingerprint);
  EXPECT_EQ((*keys)[3].problem, KeyProblem::kNone);
  for (const KeyInfo& k : *keys) {
    EXPECT_THAT(k.reason, Not(HasSubstr(kKey.substr(0, 16)))) << k.vm;
  }
}

TEST_F(KeyStoreTest, ListOfAMissingDirectoryIsEmpty) {
  KeyStore store(dir_);
  auto keys = store.List();
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
}

}  // namespace
}  // namespace qvmr
