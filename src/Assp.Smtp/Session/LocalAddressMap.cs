using System.Net;
using System.Text.RegularExpressions;
using Assp.Config;

namespace Assp.Smtp.Session;

/// <summary>
/// smtpLocalIPAddress: which local address outgoing connections to a target start from, on hosts with several
/// interfaces. Lines "target=>local-IP" where the target is an IP, a host name, or a pattern with '*' ("22.*",
/// "2222:333:*", "*.domain.com"); "*" alone is the default. An exact target beats a pattern, a pattern beats "*".
/// </summary>
public sealed class LocalAddressMap
{
    private readonly Dictionary<string, IPAddress> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<(Regex Pattern, IPAddress Local)> _patterns = [];
    private IPAddress? _default;

    public static LocalAddressMap For(ConfigSnapshot cfg) => cfg.Derived("Smtp.LocalAddressMap", c => new LocalAddressMap(c));

    private LocalAddressMap(ConfigSnapshot cfg)
    {
        foreach (var entry in cfg.GetListEntries("smtpLocalIPAddress"))
        {
            int arrow = entry.Text.IndexOf("=>", StringComparison.Ordinal);
            if (arrow <= 0) continue;
            var target = entry.Text[..arrow].Trim();
            var localText = entry.Text[(arrow + 2)..].Trim().TrimEnd(',').Trim();
            if (!IPAddress.TryParse(localText, out var local)) continue;
            if (target == "*") _default = local;
            else if (target.Contains('*'))
            {
                var regex = "^" + Regex.Escape(target).Replace("\\*", ".*") + "$";
                _patterns.Add((new Regex(regex, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100)), local));
            }
            else _exact[target] = local;
        }
    }

    /// <summary>The local address for a target given by name or IP (both are tried), or null for the system's choice.</summary>
    public IPAddress? For(string host, IPAddress? resolved = null)
    {
        if (_exact.TryGetValue(host, out var local)) return local;
        if (resolved is not null && _exact.TryGetValue(resolved.ToString(), out local)) return local;
        foreach (var (pattern, address) in _patterns)
        {
            if (pattern.IsMatch(host) || (resolved is not null && pattern.IsMatch(resolved.ToString()))) return address;
        }
        return _default;
    }
}
