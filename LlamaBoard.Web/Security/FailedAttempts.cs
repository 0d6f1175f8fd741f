using System.Collections.Concurrent;
using System.Net;

namespace LlamaBoard.Web.Security;

/// <summary>
/// Rate-limits wrong access tokens per client address: after <see cref="Limit"/> failures within
/// <see cref="Window"/>, every attempt from that address is answered 429 until the window has passed, whether the
/// token it then sends is right or wrong (otherwise the lock would still tell a guesser when it hit). A success
/// clears the address's count. With a 32-character token this turns guessing into centuries; it also keeps a
/// misconfigured client from hammering the board.
/// </summary>
public sealed class FailedAttempts(TimeProvider clock)
{
    /// <summary>Failures allowed per address within <see cref="Window"/>.</summary>
    public const int Limit = 10;

    /// <summary>How long failures count, and how long a locked address waits.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    /// <summary>Entries kept at most; the oldest are dropped first, so a flood of addresses cannot fill memory.</summary>
    const int MaxAddresses = 10_000;

    readonly ConcurrentDictionary<IPAddress, Entry> entries = new();

    sealed class Entry
    {
        public readonly Lock Gate = new();
        public readonly Queue<DateTimeOffset> Failures = new();
    }

    /// <summary>The address used for counting (IPv4-mapped IPv6 folded; unknown means one shared bucket).</summary>
    public static IPAddress AddressOf(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    /// <summary>True (with the time to wait) when <paramref name="address"/> is locked out now.</summary>
    public bool IsLocked(IPAddress address, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (!entries.TryGetValue(address, out var entry)) return false;
        var now = clock.GetUtcNow();
        lock (entry.Gate)
        {
            Expire(entry, now);
            if (entry.Failures.Count < Limit) return false;
            retryAfter = entry.Failures.Peek() + Window - now;
            return true;
        }
    }

    /// <summary>Counts a wrong token from <paramref name="address"/>.</summary>
    public void Fail(IPAddress address)
    {
        if (entries.Count >= MaxAddresses) Prune();
        var entry = entries.GetOrAdd(address, _ => new Entry());
        var now = clock.GetUtcNow();
        lock (entry.Gate)
        {
            Expire(entry, now);
            entry.Failures.Enqueue(now);
            if (entry.Failures.Count > Limit) entry.Failures.Dequeue();
        }
    }

    /// <summary>Clears <paramref name="address"/>'s failures after a right token.</summary>
    public void Succeed(IPAddress address) => entries.TryRemove(address, out _);

    static void Expire(Entry entry, DateTimeOffset now)
    {
        while (entry.Failures.Count > 0 && now - entry.Failures.Peek() >= Window) entry.Failures.Dequeue();
    }

    void Prune()
    {
        var now = clock.GetUtcNow();
        foreach (var (address, entry) in entries)
        {
            bool empty;
            lock (entry.Gate)
            {
                Expire(entry, now);
                empty = entry.Failures.Count == 0;
            }
            if (empty) entries.TryRemove(address, out _);
        }
        // Still full of live entries: forget arbitrary ones rather than grow without bound.
        foreach (var address in entries.Keys.Take(Math.Max(0, entries.Count - MaxAddresses / 2))) entries.TryRemove(address, out _);
    }
}
