using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Assp.Server;

/// <summary>
/// sd_notify(3) without libsystemd: under a Type=notify unit, systemd passes the path of a unix datagram socket in
/// $NOTIFY_SOCKET; "READY=1" sent there tells it the service is up (here: the listeners are bound and the
/// process runs as runAsUser), so `systemctl start` returns only then and a failed bind fails the start.
/// Without $NOTIFY_SOCKET (started by hand, by tests, under Type=simple) every call does nothing.
/// </summary>
public static class SystemdNotify
{
    private static readonly object s_lock = new();
    private static readonly List<PosixSignalRegistration> s_registrations = [];

    /// <summary>The socket systemd listens on, or null when not started by systemd with Type=notify.</summary>
    public static string? SocketPath => Environment.GetEnvironmentVariable("NOTIFY_SOCKET") is { Length: > 0 } s ? s : null;

    /// <summary>
    /// Tells systemd the service is ready (READY=1, MAINPID, STATUS=<paramref name="status"/>) and that SIGTERM/SIGINT
    /// from now on mean "stopping" (STOPPING=1, so `systemctl status` shows it while transfers finish).
    /// Returns false when there is no notify socket or sending failed; never throws.
    /// </summary>
    public static bool Ready(string status)
    {
        if (SocketPath is null) return false;
        lock (s_lock)
        {
            if (s_registrations.Count == 0)
            {
                try
                {
                    // Several registrations per signal are allowed; this one leaves ctx.Cancel alone, so the
                    // proxy's own handler still decides what SIGTERM does.
                    s_registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Notify("STOPPING=1\nSTATUS=stopping")));
                    s_registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => Notify("STOPPING=1\nSTATUS=stopping")));
                }
                catch (Exception ex) when (ex is PlatformNotSupportedException or IOException)
                {
                }
            }
        }
        return Notify($"READY=1\nMAINPID={Environment.ProcessId}\nSTATUS={OneLine(status)}");
    }

    /// <summary>Sends one notification datagram ("KEY=value" lines). Returns false when not under systemd or on failure.</summary>
    public static bool Notify(string state)
    {
        var path = SocketPath;
        if (path is null || !OperatingSystem.IsLinux()) return false;
        // "@name" is a socket in the abstract namespace: its address starts with a NUL byte.
        if (path[0] == '@') path = "\0" + path[1..];
        else if (path[0] != '/') return false;   // "vsock:..." and other transports are not supported
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            int sent = socket.SendTo(Encoding.UTF8.GetBytes(state), new UnixDomainSocketEndPoint(path));
            return sent > 0;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string OneLine(string text) => text.Replace('\r', ' ').Replace('\n', ' ');
}
