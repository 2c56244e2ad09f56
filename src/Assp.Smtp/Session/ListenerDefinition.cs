using System.Net;
using Assp.Config;
using Assp.Config.Registry;

namespace Assp.Smtp.Session;

/// <summary>Which option a listener comes from; decides its upstream and its rights.</summary>
public enum ListenerKind { Main, Second, Ssl, Relay }

/// <summary>One socket the proxy listens on, as configured by listenPort, listenPort2, listenPortSSL or relayPort.</summary>
public sealed record ListenerDefinition(ListenerKind Kind, IPEndPoint EndPoint, bool ImplicitTls, string Spec, string Option)
{
    public static IReadOnlyList<ListenerDefinition> FromConfig(ConfigSnapshot cfg, List<string>? errors = null)
    {
        var result = new List<ListenerDefinition>();
        Add(ListenerKind.Main, "listenPort", false);
        Add(ListenerKind.Second, "listenPort2", false);
        Add(ListenerKind.Ssl, "listenPortSSL", true);
        Add(ListenerKind.Relay, "relayPort", false);
        return result;

        void Add(ListenerKind kind, string option, bool implicitTls)
        {
            foreach (var spec in cfg[option].Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var ep = ValueSyntax.ParseEndpoint(spec, ["SSL:"]);
                if (ep is null || ep.Value.Port == 0)
                {
                    errors?.Add($"{option}: '{spec}' is not a listener");
                    continue;
                }
                IPAddress address;
                if (ep.Value.Host is null) address = cfg.GetBool("enableINET6") ? IPAddress.IPv6Any : IPAddress.Any;
                else if (!IPAddress.TryParse(ep.Value.Host, out address!))
                {
                    var resolved = System.Net.Dns.GetHostAddresses(ep.Value.Host);
                    if (resolved.Length == 0)
                    {
                        errors?.Add($"{option}: host '{ep.Value.Host}' does not resolve");
                        continue;
                    }
                    address = resolved[0];
                }
                result.Add(new ListenerDefinition(kind, new IPEndPoint(address, ep.Value.Port), implicitTls || ep.Value.Ssl, spec, option));
            }
        }
    }
}
