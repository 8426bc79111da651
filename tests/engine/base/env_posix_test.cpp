// Env::Posix(): the monotonic clock and atomic writes from many threads at once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/env.h"

namespace qvmr {
namespace {

TEST(PosixEnv, MonotonicClockNeverGoesBack) {
  Env* env = Env::Posix();
  TimeMs last = env->MonotonicMs();
  for (int i = 0; i < 1000; ++i) {
    TimeMs now = env->MonotonicMs();
    EXPECT_GE(now, last);
    last = now;
  }
}

TEST(PosixEnv, ConcurrentAtomicWritesOfOnePathNeverShareATemporaryFile) {
  char dir_template[] = "/tmp/qvmr-env-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string path = dir + "/file";
  Env* env = Env::Posix();

  constexpr int kThreads = 8;
  constexpr int kWrites = 50;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string data(4096, static_cast<char>('a' + t));
      for (int i = 0; i < kWrites; ++i) {
        if (!env->WriteFileAtomic(path, data, 0600).ok()) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;

  // The file is one writer's whole content, and no temporary file is left behind.
  auto text = env->ReadFile(path, 1 << 20);
  ASSERT_TRUE(text.ok());
  ASSERT_EQ(text->size(), 4096u);
  EXPECT_EQ(text->find_first_not_of(text->front()), std::string::npos);
  auto names = env->ListDir(dir);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 1u);
  for (const auto& n : *names) env->RemoveFile(dir + "/" + n);
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace qvmr
