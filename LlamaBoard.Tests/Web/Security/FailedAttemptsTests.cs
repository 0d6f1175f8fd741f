using System.Net;
using LlamaBoard.Web.Security;

namespace LlamaBoard.Tests.Web.Security;

/// <summary>Wrong tokens are counted per address within a window; the lock lifts when the window passes or after a success.</summary>
public sealed class FailedAttemptsTests
{
    sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    static readonly IPAddress Guesser = IPAddress.Parse("203.0.113.7");
    static readonly IPAddress Other = IPAddress.Parse("203.0.113.8");

    [Fact]
    public void The_limit_locks_one_address_for_the_window_only()
    {
        var clock = new ManualClock();
        var attempts = new FailedAttempts(clock);
        for (int i = 0; i < FailedAttempts.Limit - 1; i++) attempts.Fail(Guesser);
        Assert.False(attempts.IsLocked(Guesser, out _));
        attempts.Fail(Guesser);
        Assert.True(attempts.IsLocked(Guesser, out var wait));
        Assert.Equal(FailedAttempts.Window, wait);
        Assert.False(attempts.IsLocked(Other, out _));

        clock.Now += FailedAttempts.Window / 2;
        Assert.True(attempts.IsLocked(Guesser, out wait));
        Assert.Equal(FailedAttempts.Window / 2, wait);
        clock.Now += FailedAttempts.Window / 2;
        Assert.False(attempts.IsLocked(Guesser, out _));
    }

    [Fact]
    public void Failures_spread_out_over_time_never_lock_and_a_success_clears_the_count()
    {
        var clock = new ManualClock();
        var attempts = new FailedAttempts(clock);
        for (int i = 0; i < 3 * FailedAttempts.Limit; i++)
        {
            attempts.Fail(Guesser);
            clock.Now += FailedAttempts.Window / (FailedAttempts.Limit - 1);
            Assert.False(attempts.IsLocked(Guesser, out _), $"locked after {i + 1} spread-out failures");
        }
        for (int i = 0; i < FailedAttempts.Limit - 1; i++) attempts.Fail(Other);
        attempts.Succeed(Other);
        attempts.Fail(Other);
        Assert.False(attempts.IsLocked(Other, out _));
    }
}
