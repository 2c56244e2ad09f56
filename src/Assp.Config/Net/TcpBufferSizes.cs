using System.Globalization;
using System.Net.Sockets;

namespace Assp.Config.Net;

/// <summary>
/// TCPBufferSize ("tcprecv=65536, tcpsnd=65536, sslrcv=16384, sslsnd=0", comma or pipe between, each part optional):
/// the kernel receive and send buffers of the SMTP sockets (client and MTA side). sslrcv/sslsnd size IO::Socket::SSL's
/// own record buffers; .NET's TLS layer sizes its records itself, so they are accepted and have no effect.
/// </summary>
public sealed record TcpBufferSizes(int? Receive, int? Send)
{
    public static readonly TcpBufferSizes Default = new(null, null);

    public static TcpBufferSizes Parse(string value, out string? error)
    {
        error = null;
        int? receive = null, send = null;
        foreach (var part in value.Split([',', '|'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2 || !int.TryParse(pair[1], NumberStyles.None, CultureInfo.InvariantCulture, out int size))
            {
                error = $"'{part}' is not name=size";
                return Default;
            }
            var name = pair[0].ToLowerInvariant();
            bool ssl = name is "sslrcv" or "sslsnd";
            if (!ssl && name is not ("tcprecv" or "tcprcv" or "tcpsnd"))
            {
                error = $"'{pair[0]}' is not one of tcprecv, tcpsnd, sslrcv, sslsnd";
                return Default;
            }
            if (size is < 8192 or > 99_999_999 && !(ssl && size == 0))
            {
                error = $"{pair[0]}={size}: sizes are 8192 to 99999999 (0 only for sslrcv/sslsnd)";
                return Default;
            }
            if (name == "tcpsnd") send = size;
            else if (!ssl) receive = size;
        }
        return new TcpBufferSizes(receive, send);
    }

    public static TcpBufferSizes For(ConfigSnapshot cfg) => cfg.Derived("Net.TcpBufferSizes", c => Parse(c["TCPBufferSize"], out _));

    /// <summary>Sets the sizes on a socket; the kernel may round or cap them (net.core.rmem_max / wmem_max).</summary>
    public void Apply(Socket socket)
    {
        if (Receive is { } r) socket.ReceiveBufferSize = r;
        if (Send is { } s) socket.SendBufferSize = s;
    }
}
