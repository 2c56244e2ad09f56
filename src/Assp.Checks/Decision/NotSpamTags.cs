using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Decision;

/// <summary>
/// ASSP's one-time NotSpamTag: a 10-digit number put into refusal texts (NOTSPAMTAG). A sender who resends
/// with it in the Subject is let through as NotSpamTagProc says, once. The tag is five random digits and five
/// digits of an HMAC over them keyed with the NotSpamTag salt, so every proxy sharing the salt recognises it;
/// used tags are remembered (in the shared store) so each works only once.
/// </summary>
public sealed partial class NotSpamTags(IStore store)
{
    public const string TableName = "notspamtag.used";
    /// <summary>How long a used tag is remembered (and so how long an issued tag stays usable at most).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(30);
    private readonly IStoreTable _used = store.Table(TableName);

    /// <summary>A fresh tag, or null when NotSpamTag is not configured (shorter than 12 characters).</summary>
    public string? Issue(ConfigSnapshot cfg)
    {
        var salt = Salt(cfg);
        if (salt is null) return null;
        var nonce = RandomNumberGenerator.GetInt32(0, 100_000).ToString("D5", CultureInfo.InvariantCulture);
        return nonce + Mac(salt, nonce);
    }

    /// <summary>Finds a valid, unused tag in the subject and marks it used; true when one was found.</summary>
    public bool TryRedeem(ConfigSnapshot cfg, string? subject)
    {
        var salt = Salt(cfg);
        if (salt is null || string.IsNullOrEmpty(subject)) return false;
        foreach (Match m in TagPattern().Matches(subject))
        {
            var tag = m.Value;
            if (Mac(salt, tag[..5]) != tag[5..]) continue;
            if (_used.ContainsKey(tag)) continue;
            _used.Set(tag, "1");
            return true;
        }
        return false;
    }

    public int Purge(DateTimeOffset now) => _used.RemoveWhere((_, r) => r.Updated < (now - Lifetime).ToUnixTimeSeconds());

    private static string? Salt(ConfigSnapshot cfg)
    {
        var salt = cfg["NotSpamTag"].Trim();
        return salt.Length >= 12 ? salt : null;
    }

    private static string Mac(string salt, string nonce)
    {
        var hash = HMACSHA256.HashData(Encoding.UTF8.GetBytes(salt), Encoding.ASCII.GetBytes(nonce));
        var value = BitConverter.ToUInt32(hash, 0) % 100_000;
        return value.ToString("D5", CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"(?<!\d)\d{10}(?!\d)")]
    private static partial Regex TagPattern();
}
