using System.Security.Cryptography;
using System.Text;

namespace Assp.Auth.Srs;

/// <summary>Why an SRS address could not be reversed.</summary>
public sealed class SrsException(string message) : Exception(message);

/// <summary>
/// The Sender Rewriting Scheme in its "guarded" form (as Mail::SRS, which ASSP uses, does it by default):
/// a forwarded sender user@host becomes SRS0=HASH=TT=host=user@alias, where TT is the day number in two base32
/// characters and HASH the first <see cref="HashLength"/> base64 characters of an HMAC-SHA1 over the lower-cased
/// fields; an SRS0 address forwarded again becomes SRS1=HASH=host0==HASH0=TT=host=user@alias. Reversal checks the
/// hash with the secret and the age of the timestamp.
/// </summary>
public sealed class SrsRewriter
{
    private const string Base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private const int TimeSlots = 1024;   // 2^10: two base32 characters
    private readonly byte[] _secret;
    private readonly TimeProvider _clock;

    public SrsRewriter(string secret, int maxAgeDays, int hashLength, TimeProvider? clock = null)
    {
        if (string.IsNullOrEmpty(secret)) throw new ArgumentException("an SRS secret is needed", nameof(secret));
        _secret = Encoding.UTF8.GetBytes(secret);
        MaxAgeDays = maxAgeDays > 0 ? maxAgeDays : 21;
        HashLength = Math.Clamp(hashLength, 1, 27);
        _clock = clock ?? TimeProvider.System;
    }

    public int MaxAgeDays { get; }
    public int HashLength { get; }

    public static bool IsSrs(string address) => LocalPart(address) is { Length: > 5 } l
        && l.StartsWith("SRS", StringComparison.OrdinalIgnoreCase) && (l[3] is '0' or '1') && l[4] is '=' or '+' or '-';

    /// <summary>Rewrites <paramref name="sender"/> into an SRS address in <paramref name="aliasDomain"/>.</summary>
    public string Forward(string sender, string aliasDomain)
    {
        int at = sender.LastIndexOf('@');
        if (at <= 0 || at == sender.Length - 1) throw new SrsException($"no user or domain in '{sender}'");
        var user = sender[..at];
        var host = sender[(at + 1)..];
        var alias = aliasDomain.Contains('@') ? aliasDomain[(aliasDomain.LastIndexOf('@') + 1)..] : aliasDomain;
        if (user.Length > 4 && user.StartsWith("SRS0", StringComparison.OrdinalIgnoreCase) && user[4] is '=' or '+' or '-')
        {
            var rest = user[4..];   // keeps its separator: SRS1=HASH=host==HASH=TT=...
            return $"SRS1={Hash(host, rest)}={host}={rest}@{alias}";
        }
        if (user.Length > 4 && user.StartsWith("SRS1", StringComparison.OrdinalIgnoreCase) && user[4] is '=' or '+' or '-')
        {
            var parts = user[5..].Split('=', 3);
            if (parts.Length < 3) throw new SrsException($"malformed SRS1 address '{sender}'");
            return $"SRS1={Hash(parts[1], parts[2])}={parts[1]}={parts[2]}@{alias}";
        }
        var stamp = Timestamp(Today());
        return $"SRS0={Hash(stamp, host, user)}={stamp}={host}={user}@{alias}";
    }

    /// <summary>The address an SRS address stands for (SRS1 gives the SRS0 address); throws when it is forged or too old.</summary>
    public string Reverse(string address)
    {
        var local = LocalPart(address) ?? throw new SrsException($"'{address}' is not an address");
        if (!IsSrs(address)) throw new SrsException($"'{address}' is not an SRS address");
        if (local[3] == '0')
        {
            var parts = local[5..].Split('=', 4);
            if (parts.Length < 4) throw new SrsException("malformed SRS0 address");
            var (hash, stamp, host, user) = (parts[0], parts[1], parts[2], parts[3]);
            if (!HashMatches(hash, stamp, host, user)) throw new SrsException("invalid hash");
            CheckTimestamp(stamp);
            return user + "@" + host;
        }
        var p = local[5..].Split('=', 3);
        if (p.Length < 3) throw new SrsException("malformed SRS1 address");
        if (!HashMatches(p[0], p[1], p[2])) throw new SrsException("invalid hash");
        return "SRS0" + p[2] + "@" + p[1];
    }

    private static string? LocalPart(string address)
    {
        int at = address.LastIndexOf('@');
        return at <= 0 ? null : address[..at];
    }

    private int Today() => (int)(_clock.GetUtcNow().ToUnixTimeSeconds() / 86400 % TimeSlots);

    private static string Timestamp(int day) => new([Base32[(day >> 5) & 31], Base32[day & 31]]);

    private void CheckTimestamp(string stamp)
    {
        if (stamp.Length != 2) throw new SrsException("bad timestamp");
        int hi = Base32.IndexOf(char.ToUpperInvariant(stamp[0])), lo = Base32.IndexOf(char.ToUpperInvariant(stamp[1]));
        if (hi < 0 || lo < 0) throw new SrsException("bad timestamp");
        int then = (hi << 5) | lo;
        int age = (Today() - then + TimeSlots) % TimeSlots;
        if (age > MaxAgeDays) throw new SrsException("timestamp expired");
    }

    private string Hash(params string[] fields)
    {
        var data = Encoding.UTF8.GetBytes(string.Concat(fields).ToLowerInvariant());
        return Convert.ToBase64String(HMACSHA1.HashData(_secret, data))[..HashLength];
    }

    /// <summary>The hash as sent, or with its case smashed by a mail system on the way (base64 is case-sensitive).</summary>
    private bool HashMatches(string given, params string[] fields)
    {
        if (given.Length < HashLength) return false;
        var expected = Hash(fields);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(given[..HashLength]), Encoding.ASCII.GetBytes(expected))
            || given[..HashLength].Equals(expected, StringComparison.OrdinalIgnoreCase);
    }
}
