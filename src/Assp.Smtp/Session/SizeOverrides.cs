using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Assp.Config;
using Assp.Config.Lists;

namespace Assp.Smtp.Session;

/// <summary>
/// Per-address size limits (MaxSizeAdr, MaxSizeExternalAdr, MaxRealSizeAdr, MaxRealSizeExternalAdr): file lines
/// "entry=>bytes" where the entry is an address, a user, "@domain", an IP or a [group], wildcards allowed except in
/// IPs. Checked against the client IP, the sender and every recipient; the highest matching value wins, 0 means
/// unlimited.
/// </summary>
public sealed class SizeOverrides
{
    private readonly List<(IPAddress? Ip, AddressList? Addresses, long Bytes)> _entries = [];

    public static SizeOverrides For(ConfigSnapshot cfg, string option) => cfg.Derived("Smtp.SizeOverrides." + option, c => new SizeOverrides(c, option));

    private SizeOverrides(ConfigSnapshot cfg, string option)
    {
        foreach (var entry in cfg.GetListEntries(option))
        {
            int arrow = entry.Text.LastIndexOf("=>", StringComparison.Ordinal);
            if (arrow <= 0 || !long.TryParse(entry.Text[(arrow + 2)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var bytes)) continue;
            var who = entry.Text[..arrow].Trim();
            if (IPAddress.TryParse(who, out var ip)) _entries.Add((ip, null, bytes));
            else _entries.Add((null, AddressList.Compile([entry with { Text = who }], option, [], TimeSpan.FromMilliseconds(200)), bytes));
        }
    }

    /// <summary>The override for this session, or null when no entry matches (then the plain option applies).</summary>
    public long? Find(IPAddress client, string? sender, IEnumerable<string> recipients)
    {
        long? best = null;
        foreach (var (ip, addresses, bytes) in _entries)
        {
            bool hit = ip is not null ? ip.Equals(client)
                : (sender is not null && addresses!.Contains(sender)) || recipients.Any(addresses!.Contains);
            if (!hit) continue;
            if (bytes == 0) return 0;
            best = Math.Max(best ?? 0, bytes);
        }
        return best;
    }
}
