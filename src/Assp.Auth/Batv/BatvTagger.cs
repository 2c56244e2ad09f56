using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Assp.Auth.Batv;

/// <summary>One secret of BATVSec/MSGIDSec: a generation digit and its key.</summary>
public readonly record struct TagSecret(int Generation, string Key)
{
    /// <summary>Parses "0=key0|1=key1…"; entries without a digit, an empty key or a key with blanks are skipped, and so
    /// are the shipped example secrets ("N=keyN"): everybody knows them, so tags made with them prove nothing.</summary>
    public static IReadOnlyList<TagSecret> ParseList(IEnumerable<string> entries)
    {
        var list = new List<TagSecret>();
        foreach (var raw in entries)
        {
            var e = raw.Trim();
            int eq = e.IndexOf('=');
            if (eq != 1 || !char.IsAsciiDigit(e[0])) continue;
            var key = e[2..];
            if (key.Length == 0 || key.Any(char.IsWhiteSpace) || key.Contains('=') || key == "key" + e[0]) continue;
            list.Add(new TagSecret(e[0] - '0', key));
        }
        return list;
    }
}

/// <summary>The outcome of checking a BATV-tagged (or untagged) bounce recipient.</summary>
public enum BatvStatus { Valid, Expired, Garbled, UnknownGeneration, NotTagged }

/// <summary>
/// BATV "prvs" tags as ASSP makes them: prvs=GDDDHHHHHH=user@domain, G the secret's generation, DDD the day number
/// seven days ahead modulo 1000, HHHHHH the first six hex digits of SHA-1 over generation, day, address and secret.
/// A tag is valid up to seven days after it was made. The same hash builds FBMTV's Message-ID tags.
/// </summary>
public sealed class BatvTagger(IReadOnlyList<TagSecret> secrets, TimeProvider? clock = null)
{
    private static readonly Regex Prvs = new(@"^prvs=(\d)(\d{3})(\w{6})=(.*)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public IReadOnlyList<TagSecret> Secrets { get; } = secrets;

    private long UnixDay => _clock.GetUtcNow().ToUnixTimeSeconds() / 86400;

    /// <summary>The day field of a new tag (ASSP's "(time / 86400 + 7) % 1000").</summary>
    public string TagDay => ((UnixDay + 7) % 1000).ToString("000", CultureInfo.InvariantCulture);

    public static string Hash(int generation, string day, string subject, string secret) =>
        Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes($"{generation}{day}{subject}{secret}")))[..6];

    /// <summary>Tags a sender address with a randomly chosen secret; null when there is no secret or no user/domain.</summary>
    public string? Tag(string address)
    {
        int at = address.LastIndexOf('@');
        if (Secrets.Count == 0 || at <= 0 || at == address.Length - 1) return null;
        var s = Secrets[Random.Shared.Next(Secrets.Count)];
        var day = TagDay;
        return $"prvs={s.Generation}{day}{Hash(s.Generation, day, address, s.Key)}={address}";
    }

    /// <summary>Is this a prvs-tagged address?</summary>
    public static bool IsTagged(string address) => address.StartsWith("prvs=", StringComparison.OrdinalIgnoreCase);

    /// <summary>Any BATV-style tag (prvs=…=user, or the older user=tag forms) taken off: the plain address.</summary>
    public static string RemoveTag(string address)
    {
        int at = address.LastIndexOf('@');
        if (at <= 0) return address;
        var local = address[..at];
        if (local.StartsWith("prvs=", StringComparison.OrdinalIgnoreCase) || local.StartsWith("btv1=", StringComparison.OrdinalIgnoreCase))
        {
            int second = local.IndexOf('=', 5);
            if (second > 0 && second < local.Length - 1) return local[(second + 1)..] + address[at..];
        }
        return address;
    }

    /// <summary>Checks the tag of a bounce recipient; on success <paramref name="original"/> is the untagged address.</summary>
    public BatvStatus Validate(string recipient, out string original)
    {
        original = recipient;
        int at = recipient.LastIndexOf('@');
        if (at <= 0) return BatvStatus.NotTagged;
        var m = Prvs.Match(recipient[..at]);
        if (!m.Success) return BatvStatus.NotTagged;
        int gen = m.Groups[1].Value[0] - '0';
        var day = m.Groups[2].Value;
        var address = m.Groups[4].Value + recipient[at..];
        var secret = Secrets.FirstOrDefault(s => s.Generation == gen);
        if (secret.Key is null) return BatvStatus.UnknownGeneration;
        if (!Hash(gen, day, address, secret.Key).Equals(m.Groups[3].Value, StringComparison.OrdinalIgnoreCase)) return BatvStatus.Garbled;
        long today = UnixDay % 1000;
        long age = (int.Parse(day, CultureInfo.InvariantCulture) - today + 1000) % 1000;
        if (age > 7) return BatvStatus.Expired;
        original = address;
        return BatvStatus.Valid;
    }
}
