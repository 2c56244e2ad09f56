using Assp.Config;
using Assp.Config.Registry;

namespace Assp.Smtp.Session;

/// <summary>
/// Chooses the MTA for a session: smtpDestination for listenPort, smtpAuthServer for listenPort2,
/// smtpDestinationSSL for listenPortSSL, relayHost for relayPort (each falling back to smtpDestination).
/// A list is a failover order; "port" or "INBOUND:port" means the address the client connected to.
/// </summary>
public static class UpstreamSelector
{
    public static IReadOnlyList<UpstreamTarget> Targets(ConfigSnapshot cfg, SessionContext ctx)
    {
        string option = ctx.Listener.Kind switch
        {
            ListenerKind.Second => "smtpAuthServer",
            ListenerKind.Ssl => "smtpDestinationSSL",
            ListenerKind.Relay => "relayHost",
            _ => "smtpDestination",
        };
        var value = cfg[option].Trim();
        if (value.Length == 0) value = cfg["smtpDestination"].Trim();
        var result = new List<UpstreamTarget>();
        foreach (var entry in value.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            bool inbound = entry.StartsWith("INBOUND:", StringComparison.OrdinalIgnoreCase);
            var ep = ValueSyntax.ParseEndpoint(entry, ["INBOUND:", "SSL:"]);
            if (ep is null) continue;
            var (ssl, host, port) = ep.Value;
            if (host is null || inbound)
            {
                // The local address that took the connection; "any" addresses mean this host's loopback.
                var local = ctx.LocalAddress;
                host = local.Equals(System.Net.IPAddress.Any) || local.Equals(System.Net.IPAddress.IPv6Any) ? "127.0.0.1" : local.ToString();
                // smtpDestinationRT routes an inbound address to another outbound host ("in=>out:port", SSL: allowed).
                if (RoutingTable(cfg).TryGetValue(local.ToString(), out var routed))
                {
                    result.Add(routed);
                    continue;
                }
            }
            if (port == 0) port = 25;
            result.Add(new UpstreamTarget(host, port, ssl));
        }
        return result;
    }

    private static Dictionary<string, UpstreamTarget> RoutingTable(ConfigSnapshot cfg) => cfg.Derived("Smtp.RoutingTable", c =>
    {
        var table = new Dictionary<string, UpstreamTarget>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in c.GetListEntries("smtpDestinationRT"))
        {
            int arrow = entry.Text.IndexOf("=>", StringComparison.Ordinal);
            if (arrow <= 0) continue;
            var ep = ValueSyntax.ParseEndpoint(entry.Text[(arrow + 2)..].Trim(), ["SSL:"]);
            if (ep is null || ep.Value.Host is null || ep.Value.Port == 0) continue;
            table[entry.Text[..arrow].Trim().Trim('[', ']')] = new UpstreamTarget(ep.Value.Host, ep.Value.Port, ep.Value.Ssl);
        }
        return table;
    });
}
