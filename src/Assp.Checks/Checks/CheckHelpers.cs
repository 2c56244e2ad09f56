using System.Net;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>Small pieces the connection, HELO and sender checks share.</summary>
internal static class CheckHelpers
{
    /// <summary>The check's drop-down is on and the message is not transparent (for checks with their own exemptions).</summary>
    public static bool Enabled(CheckContext c, CheckDefinition d) => !c.State.Transparent && d.ConfiguredMode(c.Config) != CheckMode.Disabled;

    /// <summary>ASSP's "ispcip": behind an ISP relay and no original sender IP found, so the IP checks say nothing.</summary>
    public static bool IspWithoutOrigin(MessageState st) => st.IsIsp && st.OriginalIp is null;

    public static bool AcceptAll(CheckContext c) => c.Config.GetIpList("acceptAllMail").Contains(c.Mail.RemoteAddress);

    /// <summary>The HELO as the checks see it (ASSP keeps the client's HELO for the session).</summary>
    public static string Helo(CheckContext c) => (c.Mail.Helo ?? "").Trim();

    /// <summary>heloBlacklistIgnore: HELO names no HELO check looks at.</summary>
    public static bool HeloIgnored(ConfigSnapshot cfg, string helo) =>
        cfg.Derived("Checks.heloBlacklistIgnore", c => Assp.Config.Regexes.RegexList.Compile(c.GetListEntries("heloBlacklistIgnore"),
            "heloBlacklistIgnore", [], Assp.Config.Regexes.ConfigRegex.DefaultMatchTimeout, true)).IsMatch(helo);

    public static string? Domain(string? address)
    {
        if (string.IsNullOrEmpty(address)) return null;
        int at = address.LastIndexOf('@');
        return at >= 0 && at < address.Length - 1 ? address[(at + 1)..] : null;
    }

    public static bool IsLocalAddress(ConfigSnapshot cfg, string? address) =>
        Domain(address) is { } d && LocalDomains.For(cfg).IsLocal(d);

    /// <summary>SenderInvalidError with its REASON filled in (SpamError when it is empty, as ASSP does).</summary>
    public static string SenderInvalid(ConfigSnapshot cfg, string reason)
    {
        var template = cfg["SenderInvalidError"].Trim();
        if (template.Length == 0) template = cfg["SpamError"];
        return template.Replace("REASON", reason, StringComparison.Ordinal);
    }

    /// <summary>ASSP's BombWeight total for a weighted regex: each hit scores its weight against the valence.</summary>
    public static (double Sum, string Matched) WeightedSum(ConfigSnapshot cfg, string option, string valence, string? text)
    {
        var list = cfg.GetWeightedRegex(option);
        if (list.Count == 0 || string.IsNullOrEmpty(text)) return (0, "");
        var hits = list.Matches(text);
        if (hits.Count == 0) return (0, "");
        var (m, _) = cfg.GetValence(valence);
        double sum = hits.Sum(h => Assp.Config.Regexes.WeightedRegexList.Score(h.Weight, m));
        return (sum, hits[0].MatchedText);
    }

    public static bool IsLoopback(IPAddress ip) => IPAddress.IsLoopback(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip);
}
