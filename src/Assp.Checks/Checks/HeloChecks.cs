using System.Net;
using System.Text.RegularExpressions;
using Assp.Checks.Decision;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>
/// DoFakedLocalHelo: a HELO that claims to be us (a local domain with DoFakedUseLocalDomain, localhost, myName,
/// myNameAlso, this machine's host name, myServerRe, a loopback IP literal or one of our own IPs: the listener's,
/// a configured listener address or an address of this machine's interfaces). Refused with SenderInvalidError; DoFakedWL/DoFakedNP
/// *skip* whitelisted/noprocessing mail (ASSP's sense of these two is the reverse of the usual …WL/…NP switches).
/// </summary>
public sealed class ForgedHeloCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoFakedLocalHelo", "[ForgedHELO]", "fhValencePB", TestModeOption: "fhTestMode",
        CollectOption: "forgedHeloLog", ReplyOption: "SenderInvalidError");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 30;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        var helo = CheckHelpers.Helo(c);
        if (!CheckHelpers.Enabled(c, Check) || !Forged(c, helo)) return Verdict.Pass;

        var reason = $"forged Helo: '{helo}'";
        c.Engine.IpReputation.DeleteWhite(cfg, c.Ip);
        return c.Engine.Hit(Check, cfg, st, c.Ip, reason, c.Log, reply: CheckHelpers.SenderInvalid(cfg, reason));
    }

    /// <summary>The HELO claims to be us and the check is not exempt for this message (also used by ForceFakedLocalHelo).</summary>
    internal static bool Forged(CheckContext c, string helo)
    {
        var cfg = c.Config;
        var st = c.State;
        if (helo.Length == 0 || st.RelayOk || CheckHelpers.AcceptAll(c) || CheckHelpers.IspWithoutOrigin(st)) return false;
        if (cfg.GetIpList("noHelo").Contains(c.Ip) || CheckHelpers.HeloIgnored(cfg, helo)) return false;
        if (cfg.GetBool("DoFakedWL") && st.IsWhitelisted) return false;
        if (cfg.GetBool("DoFakedNP") && st.IsNoProcessing) return false;
        return IsOurs(c, helo);
    }

    private static readonly Regex Literal = new(@"^\[?(?:IPv6:)?([0-9A-Fa-f:.]+)\]?$", RegexOptions.CultureInvariant);

    internal static bool IsOurs(CheckContext c, string helo)
    {
        var cfg = c.Config;
        var name = helo.TrimEnd('.');
        if (name.Equals("localhost", StringComparison.OrdinalIgnoreCase) || name.Equals(cfg["myName"].Trim(), StringComparison.OrdinalIgnoreCase)) return true;
        foreach (var also in cfg["myNameAlso"].Split(['|', ',', ' '], StringSplitOptions.RemoveEmptyEntries))
            if (name.Equals(also, StringComparison.OrdinalIgnoreCase)) return true;
        if (cfg.GetBool("DoFakedUseLocalDomain") && !name.StartsWith('[') && LocalDomains.For(cfg).IsLocal(name)) return true;
        var server = MyServerRe(cfg);
        if (server.IsMatch(helo)) return true;
        var m = Literal.Match(helo);
        if (m.Success && IPAddress.TryParse(m.Groups[1].Value, out var ip))
        {
            if (CheckHelpers.IsLoopback(ip) || server.IsMatch(m.Groups[1].Value)) return true;
            var local = c.Mail.LocalAddress;
            if (!CheckHelpers.IsLoopback(local) && !local.Equals(IPAddress.Any) && !local.Equals(IPAddress.IPv6Any) && ip.Equals(local)) return true;
            if (OwnAddresses.IsOurs(cfg, ip)) return true;
        }
        else if (OwnAddresses.HostName is { Length: > 0 } host && name.Equals(host, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private static Assp.Config.Regexes.RegexList MyServerRe(ConfigSnapshot cfg) =>
        cfg.Derived("Checks.myServerRe", x => Assp.Config.Regexes.RegexList.Compile(x.GetListEntries("myServerRe"), "myServerRe", [],
            Assp.Config.Regexes.ConfigRegex.DefaultMatchTimeout, true));
}

/// <summary>
/// DoInvalidFormatHelo with the weighted invalidFormatHeloRe: a matching HELO scores ihValencePB by weight; in
/// block mode a total under ihValencePB only scores, as in ASSP.
/// </summary>
public sealed class InvalidFormatHeloCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoInvalidFormatHelo", "[InvalidHELO]", "ihValencePB", TestModeOption: "ihTestMode",
        LoverList: "hiSpamLovers", WhitelistSwitch: "DoHeloWL", NoProcessingSwitch: "DoHeloNP", CollectOption: "invalidHeloLog",
        ReplyOption: "SenderInvalidError");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    public int Order => 80;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) => ValueTask.FromResult(Run(context));

    private static Verdict Run(CheckContext c)
    {
        var cfg = c.Config;
        var st = c.State;
        var helo = CheckHelpers.Helo(c);
        if (!c.Applies(Check) || helo.Length == 0 || CheckHelpers.AcceptAll(c) || CheckHelpers.IspWithoutOrigin(st)) return Verdict.Pass;
        if (cfg.GetIpList("noHelo").Contains(c.Ip) || (st.RwlOk && st.OriginalIp is null) || CheckHelpers.HeloIgnored(cfg, helo)) return Verdict.Pass;
        var (sum, matched) = CheckHelpers.WeightedSum(cfg, "invalidFormatHeloRe", "ihValencePB", helo);
        if (matched.Length == 0 && sum == 0) return Verdict.Pass;

        var reason = $"invalid HELO: '{helo}'";
        c.Engine.IpReputation.DeleteWhite(cfg, c.Ip);
        var score = DecisionEngine.Proportional(cfg, "ihValencePB", Math.Max(0, sum));
        var mode = DecisionEngine.EffectiveMode(Check, cfg, st);
        if (mode == CheckMode.Block && sum < cfg.GetValence("ihValencePB").Message)
        {
            // A light match in block mode only scores (ASSP).
            st.Prepend.Clear().Append(Check.Tag);
            c.Engine.AddPenalty(cfg, st, c.Ip, score.Message, score.Ip, reason, 0, c.Log, "ihValencePB");
            st.Reports.Add(new CheckReport(Check.Name, "score", score.Message, reason));
            return Verdict.Pass;
        }
        return c.Engine.Hit(Check, cfg, st, c.Ip, reason, c.Log, score, reply: CheckHelpers.SenderInvalid(cfg, "Invalid HELO Format"));
    }
}

/// <summary>
/// DoIPinHelo (monitor or score only): an IP address in the HELO scores fiphValencePB, and fiphmValencePB more when
/// none of its readings (forward, reversed, rotated) is the client's IP.
/// </summary>
public sealed class IpInHeloCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoIPinHelo", "[SuspiciousHelo]", "fiphValencePB");

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.MailFrom;
    public int Order => 10;

    private static readonly Regex V4 = new(@"(?<![0-9])(\d{1,3}(?:[.-]\d{1,3}){3,})(?![0-9])", RegexOptions.CultureInvariant);

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Run(context, context.Ip, CheckHelpers.Helo(context)));

    /// <summary>Checks <paramref name="helo"/> as said by <paramref name="ip"/> (the client, or the original sender behind an ISP).</summary>
    internal static Verdict Run(CheckContext c, IPAddress ip, string helo)
    {
        var cfg = c.Config;
        var st = c.State;
        var ipText = (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString();
        if (!CheckHelpers.Enabled(c, Check) || helo.Length == 0 || helo == ipText || st.RelayOk || CheckHelpers.AcceptAll(c) || CheckHelpers.IspWithoutOrigin(st))
            return Verdict.Pass;
        if (cfg.GetBool("DoFakedWL") && st.IsWhitelisted) return Verdict.Pass;
        if (cfg.GetIpList("noHelo").Contains(ip) || DecisionEngine.IsPrivate(ip) || CheckHelpers.HeloIgnored(cfg, helo)) return Verdict.Pass;
        if (cfg.GetBool("DoFakedNP") && st.IsNoProcessing) return Verdict.Pass;

        var variants = Variants(helo);
        if (variants.Count == 0) return Verdict.Pass;
        var verdict = c.Engine.Hit(Check, cfg, st, ip, $"Suspicious HELO - contains IP: '{helo}'", c.Log);
        if (!variants.Contains(ipText))
            verdict = c.Engine.Hit(Check, cfg, st, ip, $"IP in HELO '{helo}' does not match IP in connection '{ipText}'", c.Log,
                cfg.GetValence("fiphmValencePB"));
        return verdict.Refuses ? verdict : Verdict.Pass;
    }

    /// <summary>Every dotted quad the HELO may mean: each run of four octets, rotated and reversed (spammers write them backwards).</summary>
    internal static HashSet<string> Variants(string helo)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in V4.Matches(helo))
        {
            var text = m.Groups[1].Value;
            if (text.Contains('-') && text.Contains('.')) continue;
            var octets = text.Split('.', '-').Select(o => int.Parse(o, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            if (octets.Any(o => o > 255)) continue;
            var forward = octets.ToList();
            var backward = octets.Reverse().ToList();
            while (forward.Count > 3)
            {
                foreach (var o in new[] { forward, backward })
                {
                    result.Add($"{o[0]}.{o[1]}.{o[2]}.{o[3]}");
                    result.Add($"{o[3]}.{o[0]}.{o[1]}.{o[2]}");
                    result.Add($"{o[2]}.{o[3]}.{o[0]}.{o[1]}");
                    result.Add($"{o[1]}.{o[2]}.{o[3]}.{o[0]}");
                }
                forward.RemoveAt(0);
                backward.RemoveAt(0);
            }
        }
        var bare = helo.Trim('[', ']');
        if (bare.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase)) bare = bare[5..];
        if (bare.Contains(':') && IPAddress.TryParse(bare, out var v6)) result.Add(v6.ToString());
        return result;
    }
}

/// <summary>
/// DoIPinHelo for mail relayed by an ISP (ispip): once the header names the original sender's IP and the HELO it
/// gave the ISP (ispHostnames), that HELO is checked against that IP as well.
/// </summary>
public sealed class IpInOriginalHeloCheck : IMessageCheck
{
    public CheckDefinition Definition => IpInHeloCheck.Check;
    public SmtpPhase Phase => SmtpPhase.DataHeader;
    // After the header address and frequency checks, before the forged HELO check (as in ASSP).
    public int Order => 6;

    public ValueTask<Verdict> RunAsync(CheckContext context, CancellationToken cancellationToken)
    {
        var st = context.State;
        if (!st.IsIsp || st.OriginalIp is not { } origin || string.IsNullOrWhiteSpace(st.OriginalHelo)) return ValueTask.FromResult(Verdict.Pass);
        return ValueTask.FromResult(IpInHeloCheck.Run(context, origin, st.OriginalHelo.Trim()));
    }
}

/// <summary>The IP addresses and host name that are ours: configured listener addresses and this machine's interfaces.</summary>
internal static class OwnAddresses
{
    private static readonly string[] ListenerOptions = ["listenPort", "listenPort2", "listenPortSSL", "relayPort"];

    private static readonly Lazy<HashSet<IPAddress>> Interfaces = new(() =>
    {
        var set = new HashSet<IPAddress>();
        try
        {
            foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
                foreach (var a in nic.GetIPProperties().UnicastAddresses) set.Add(Normal(a.Address));
        }
        catch (System.Net.NetworkInformation.NetworkInformationException)
        {
            // No interface list on this platform: the configured addresses still count.
        }
        return set;
    });

    private static readonly Lazy<string?> Host = new(() =>
    {
        try { return System.Net.Dns.GetHostName(); }
        catch (System.Net.Sockets.SocketException) { return null; }
    });

    public static string? HostName => Host.Value;

    public static bool IsOurs(ConfigSnapshot cfg, IPAddress ip)
    {
        ip = Normal(ip);
        if (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)) return false;
        return Interfaces.Value.Contains(ip) || Listeners(cfg).Contains(ip);
    }

    private static IPAddress Normal(IPAddress ip) => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;

    /// <summary>The IPs named in the listener options ("ip:port|[v6]:port|port").</summary>
    private static HashSet<IPAddress> Listeners(ConfigSnapshot cfg) => cfg.Derived("Checks.OwnListenerIps", x =>
    {
        var set = new HashSet<IPAddress>();
        foreach (var option in ListenerOptions)
        {
            if (x.Registry.Find(option) is null) continue;
            foreach (var entry in x[option].Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var host = entry.StartsWith('[') && entry.IndexOf(']') is > 0 and var end ? entry[1..end]
                    : entry.LastIndexOf(':') is > 0 and var colon && entry.IndexOf(':') == colon ? entry[..colon] : entry;
                if (IPAddress.TryParse(host, out var ip)) set.Add(Normal(ip));
            }
        }
        return set;
    });
}
