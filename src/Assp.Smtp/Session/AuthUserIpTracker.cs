using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Assp.Config;

namespace Assp.Smtp.Session;

/// <summary>
/// AUTHUserIPfrequency "IPs seconds": the IPs each user tried to log in from (PLAIN, LOGIN, CRAM-MD5), every attempt
/// counted. A user seen from that many different IPs within the window is refused, and the attempt counts as a
/// MaxAUTHErrors error - a stolen password used from a botnet.
/// </summary>
public sealed class AuthUserIpTracker(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, List<(string Ip, DateTimeOffset At)>> _seen = new(StringComparer.OrdinalIgnoreCase);
    private long _calls;

    /// <summary>User names tracked at most: made-up names from an attacker must not grow the table without end.</summary>
    public const int MaxUsers = 50_000;

    public int TrackedUsers => _seen.Count;

    /// <summary>The option's (IPs, window); null when blank. The registry rule holds the minimum of 2 and 600.</summary>
    public static (int Ips, TimeSpan Window)? Limit(ConfigSnapshot cfg)
    {
        var parts = cfg["AUTHUserIPfrequency"].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ips)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)) return null;
        return (Math.Max(2, ips), TimeSpan.FromSeconds(Math.Max(600, seconds)));
    }

    /// <summary>Counts this attempt; true when the user has now been seen from the limit's number of IPs or more.</summary>
    public bool RecordAndCheck(string user, IPAddress ip, (int Ips, TimeSpan Window) limit, out int distinct)
    {
        var now = time.GetUtcNow();
        var list = _seen.GetOrAdd(user, _ => []);
        lock (list)
        {
            list.RemoveAll(e => now - e.At > limit.Window);
            list.Add((ip.ToString(), now));
            distinct = list.Select(e => e.Ip).Distinct(StringComparer.Ordinal).Count();
            // Bounded per user: an attacker cycling IPs cannot grow the list past what the check needs.
            if (list.Count > 1000) list.RemoveRange(0, list.Count - 1000);
        }
        if (Interlocked.Increment(ref _calls) % 1024 == 0 || _seen.Count > MaxUsers) Sweep(now, limit.Window);
        return distinct >= limit.Ips;
    }

    /// <summary>Drops users not seen within the window; past <see cref="MaxUsers"/> the longest unseen go first.</summary>
    private void Sweep(DateTimeOffset now, TimeSpan window)
    {
        var lastSeen = new List<(string User, DateTimeOffset At)>();
        foreach (var (user, list) in _seen)
        {
            DateTimeOffset last;
            lock (list) last = list.Count == 0 ? DateTimeOffset.MinValue : list[^1].At;
            if (now - last > window) _seen.TryRemove(user, out _);
            else lastSeen.Add((user, last));
        }
        if (lastSeen.Count <= MaxUsers) return;
        foreach (var (user, _) in lastSeen.OrderBy(e => e.At).Take(lastSeen.Count - MaxUsers * 3 / 4)) _seen.TryRemove(user, out _);
    }

    /// <summary>The user name in a client's AUTH data: PLAIN's authentication id, LOGIN's first answer, CRAM-MD5's
    /// name before the digest. Null when the data is not base64 or holds no name.</summary>
    public static string? UserFrom(string mechanism, string base64, bool firstAnswer)
    {
        byte[] raw;
        try { raw = Convert.FromBase64String(base64.Trim()); }
        catch (FormatException) { return null; }
        var text = Encoding.UTF8.GetString(raw);
        string? user = mechanism switch
        {
            "PLAIN" => text.Split('\0') is { Length: 3 } p ? p[1] : null,
            "LOGIN" => firstAnswer ? text : null,
            "CRAM-MD5" => text.LastIndexOf(' ') is > 0 and var sp ? text[..sp] : null,
            _ => null,
        };
        return string.IsNullOrWhiteSpace(user) ? null : user.Trim();
    }
}
