using System.Text;
using System.Text.RegularExpressions;
using Assp.Config;
using Assp.Config.Lists;

namespace Assp.Checks.Recipients;

/// <summary>One MTA asked to verify addresses: host, port and whether the session starts in TLS ("SSL:" or port 465).</summary>
public sealed record VrfyHost(string Host, int Port, bool Ssl)
{
    /// <summary>As written in localDomains/VRFYforceRCPTTO: "[SSL:]host[:port]" (port 25, or 465 with SSL:).</summary>
    public static VrfyHost? Parse(string text)
    {
        var t = text.Trim();
        bool ssl = false;
        if (t.StartsWith("SSL:", StringComparison.OrdinalIgnoreCase))
        {
            ssl = true;
            t = t[4..].Trim();
        }
        if (t.Length == 0) return null;
        string host = t;
        int port = ssl ? 465 : 25;
        if (t.StartsWith('['))
        {
            int close = t.IndexOf(']');
            if (close < 0) return null;
            host = t[1..close];
            var rest = t[(close + 1)..];
            if (rest.StartsWith(':') && !int.TryParse(rest[1..], out port)) return null;
        }
        else if (t.Count(c => c == ':') == 1)
        {
            int colon = t.IndexOf(':');
            host = t[..colon];
            if (!int.TryParse(t[(colon + 1)..], out port)) return null;
        }
        if (host.Length == 0 || port is <= 0 or > 65535) return null;
        return new VrfyHost(host, port, ssl || port == 465);
    }

    public override string ToString() => (Ssl && Port != 465 ? "SSL:" : "") + Host + ":" + Port;
}

/// <summary>
/// The lists that say which local addresses exist, read once per configuration: LocalAddresses_Flat (its plain
/// entries; "@domain=>mta" and "ALL=>mta" lines there are VRFY routes), the VRFY routes of localDomains
/// ("domain=>[SSL:]mta[:port][,mta2...]", which win over the same domain in LocalAddresses_Flat), and VRFYforceRCPTTO.
/// </summary>
public sealed class LocalAddressLists
{
    private readonly List<(Regex Domain, IReadOnlyList<VrfyHost> Hosts)> _routes;
    private readonly IReadOnlyList<VrfyHost>? _all;
    private readonly HashSet<string> _forceRcpt;

    private LocalAddressLists(AddressList flat, List<(Regex, IReadOnlyList<VrfyHost>)> routes, IReadOnlyList<VrfyHost>? all, HashSet<string> forceRcpt)
    {
        Flat = flat;
        _routes = routes;
        _all = all;
        _forceRcpt = forceRcpt;
    }

    /// <summary>LocalAddresses_Flat without its VRFY lines.</summary>
    public AddressList Flat { get; }
    public bool HasVrfyRoutes => _routes.Count > 0 || _all is not null;

    public static LocalAddressLists For(ConfigSnapshot cfg) => cfg.Derived("Recipients.LocalAddressLists", Build);

    private static LocalAddressLists Build(ConfigSnapshot cfg)
    {
        var issues = new List<ConfigIssue>();
        var flatEntries = new List<ListEntry>();
        var routes = new List<(Regex, IReadOnlyList<VrfyHost>)>();
        IReadOnlyList<VrfyHost>? all = null;
        // localDomains first: its route for a domain wins over LocalAddresses_Flat's.
        foreach (var e in cfg.GetListEntries("localDomains"))
            if (SplitRoute(e.Text) is { } r) AddRoute(r.Domain, r.Hosts);
        foreach (var e in cfg.GetListEntries("LocalAddresses_Flat"))
        {
            if (SplitRoute(e.Text) is { } r) AddRoute(r.Domain, r.Hosts);
            else flatEntries.Add(e);
        }
        var flat = AddressList.Compile(flatEntries, "LocalAddresses_Flat", issues, Assp.Config.Regexes.ConfigRegex.DefaultMatchTimeout);
        var force = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var e in cfg.GetListEntries("VRFYforceRCPTTO"))
            if (VrfyHost.Parse(e.Text) is { } h) { force.Add(h.ToString()); force.Add(h.Host); }
        return new LocalAddressLists(flat, routes, all, force);

        void AddRoute(string domain, string hosts)
        {
            var list = hosts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(VrfyHost.Parse).OfType<VrfyHost>().ToList();
            if (list.Count == 0) return;
            if (domain.Equals("ALL", StringComparison.OrdinalIgnoreCase))
            {
                all ??= list;
                return;
            }
            var sb = new StringBuilder("^(?:");
            foreach (var c in domain.TrimStart('@'))
                sb.Append(c == '*' ? ".{0,64}" : c == '?' ? "." : Regex.Escape(c.ToString()));
            sb.Append(")$");
            routes.Add((new Regex(sb.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(200)), list));
        }
    }

    private static (string Domain, string Hosts)? SplitRoute(string entry)
    {
        int arrow = entry.IndexOf("=>", StringComparison.Ordinal);
        if (arrow <= 0) return null;
        var domain = entry[..arrow].Trim();
        var hosts = entry[(arrow + 2)..].Trim();
        return domain.Length == 0 || hosts.Length == 0 ? null : (domain, hosts);
    }

    /// <summary>The MTAs (in failover order) that verify addresses of this domain, or null when none is set.</summary>
    public IReadOnlyList<VrfyHost>? VrfyHostsFor(string domain)
    {
        foreach (var (re, hosts) in _routes)
        {
            try
            {
                if (re.IsMatch(domain)) return hosts;
            }
            catch (RegexMatchTimeoutException)
            {
            }
        }
        return _all;
    }

    /// <summary>VRFYforceRCPTTO: this MTA gets MAIL FROM/RCPT TO instead of VRFY.</summary>
    public bool ForcesRcptTo(VrfyHost host) => _forceRcpt.Contains(host.ToString()) || _forceRcpt.Contains(host.Host);

    /// <summary>Is the address listed in LocalAddresses_Flat (whole address, user or @domain; with LocalAddresses_Flat_Domains
    /// also a bare domain entry)?</summary>
    public static bool FlatContains(ConfigSnapshot cfg, string address)
    {
        var flat = For(cfg).Flat;
        if (flat.Count == 0) return false;
        int at = address.LastIndexOf('@');
        if (at >= 0 && flat.Contains(address[at..])) return true;
        if (at >= 0 && cfg.GetBool("LocalAddresses_Flat_Domains") && cfg.Derived("Recipients.FlatDomains", c => new HashSet<string>(
                c.GetListEntries("LocalAddresses_Flat").Select(e => e.Text.Trim()).Where(t => t.Length > 0 && !t.Contains('@') && !t.Contains("=>")),
                StringComparer.OrdinalIgnoreCase)).Contains(address[(at + 1)..]))
            return true;
        return flat.Contains(address);
    }

    /// <summary>ASSP's subaddressing: with SepChar '+', "user+tag@dom" is validated as "user@dom".</summary>
    public static string WithoutSubaddress(ConfigSnapshot cfg, string address)
    {
        var sep = cfg["SepChar"].Trim();
        if (sep.Length == 0 || sep == "*") return address;
        int at = address.LastIndexOf('@');
        if (at <= 0) return address;
        int cut = address.IndexOf(sep, 0, at, StringComparison.Ordinal);
        if (cut <= 0) return address;
        return (address[..cut] + address[at..]).Replace("\"", "", StringComparison.Ordinal);
    }
}
