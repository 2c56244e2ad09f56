using System.Net;
using System.Text;
using Assp.Checks.Decision;

namespace Assp.Web;

/// <summary>The Mail Analyzer's input: the message and the envelope fields the admin gave.</summary>
public sealed record AnalyzeRequest(string? Message, string? Ip, string? Helo, string? From, string? Recipients, bool Outgoing = false);

/// <summary>Runs a pasted or uploaded message through the offline checks, as `assp analyze` does; changes no database.</summary>
public static class Analyzing
{
    public const int MaxMessageBytes = 25 * 1024 * 1024;

    public static async Task<(AnalysisResult? Result, string? Error)> RunAsync(WebAdminContext admin, byte[] message, AnalyzeRequest request, CancellationToken ct)
    {
        if (message.Length == 0) return (null, "paste a message or choose a file");
        if (message.Length > MaxMessageBytes) return (null, $"the message is larger than {MaxMessageBytes / 1024 / 1024} MB");
        IPAddress? ip = null;
        if (!string.IsNullOrWhiteSpace(request.Ip) && !IPAddress.TryParse(request.Ip.Trim(), out ip)) return (null, $"'{request.Ip}' is not an IP address");
        var recipients = (request.Recipients ?? "").Split([',', ' ', ';', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var envelope = new AnalyzeEnvelope(ip, Blank(request.Helo), Blank(request.From), recipients.Length == 0 ? null : recipients, request.Outgoing);
        var cfg = admin.Config.Current;
        var result = await MessageAnalyzer.AnalyzeAsync(admin.AnalysisPipeline(cfg), cfg, message, "web admin", envelope, ct).ConfigureAwait(false);
        return (result, null);
    }

    /// <summary>Pasted text as message bytes, with CRLF line ends as on the wire.</summary>
    public static byte[] FromText(string text) => Encoding.UTF8.GetBytes(text.Replace("\r\n", "\n").Replace("\n", "\r\n"));

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
