using System.Globalization;
using System.Text;
using Assp.Checks.Statistics;

namespace Assp.Smtp.Monitoring;

/// <summary>
/// The instance's figures in the Prometheus text exposition format (version 0.0.4): statistics counters, the
/// score histogram, live session gauges and the health probes. Every name starts with "assp_".
/// </summary>
public static class PrometheusMetrics
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Render(StatisticsSnapshot stats, int activeSessions, long sessionsSinceStart, int listeners, HealthReport? health)
    {
        var w = new Writer();
        w.Family("assp_build_info", "gauge", "Always 1; the label names the running version.");
        w.Sample("assp_build_info", 1, ("version", SmtpProxyServer.Version));
        w.Family("assp_uptime_seconds", "gauge", "Seconds since this process started.");
        w.Sample("assp_uptime_seconds", stats.Uptime.TotalSeconds);
        w.Family("assp_statistics_reset_timestamp_seconds", "gauge", "When the statistics counters last started from zero (Unix time).");
        w.Sample("assp_statistics_reset_timestamp_seconds", stats.CountingSince.ToUnixTimeSeconds());

        w.Family("assp_smtp_sessions_active", "gauge", "SMTP sessions open right now.");
        w.Sample("assp_smtp_sessions_active", activeSessions);
        w.Family("assp_smtp_sessions_started_total", "counter", "SMTP sessions started since this process started.");
        w.Sample("assp_smtp_sessions_started_total", sessionsSinceStart);
        w.Family("assp_smtp_listeners", "gauge", "SMTP listening sockets open.");
        w.Sample("assp_smtp_listeners", listeners);

        long C(string name) => stats.Counters.TryGetValue(name, out var v) ? v : 0;
        w.Family("assp_connections_total", "counter", "Client connections, by whether they were accepted or turned away at once.");
        w.Sample("assp_connections_total", C(MailStatistics.ConnectionsAccepted), ("result", "accepted"));
        w.Sample("assp_connections_total", C(MailStatistics.ConnectionsRefused), ("result", "refused"));
        w.Family("assp_messages_total", "counter", "Mail transactions that reached an end, by how they ended.");
        w.Sample("assp_messages_total", C(MailStatistics.MessagesDelivered), ("outcome", "delivered"));
        w.Sample("assp_messages_total", C(MailStatistics.MessagesBlocked), ("outcome", "blocked"));
        w.Sample("assp_messages_total", C(MailStatistics.MessagesTempFailed), ("outcome", "tempfailed"));
        w.Sample("assp_messages_total", C(MailStatistics.MessagesDiscarded), ("outcome", "discarded"));
        w.Family("assp_messages_delivered_total", "counter", "Delivered messages by class: clean ham, spam passed on (tagged, test mode, lovers), whitelisted, noprocessing, outgoing.");
        w.Sample("assp_messages_delivered_total", C(MailStatistics.MessagesHam), ("class", "ham"));
        w.Sample("assp_messages_delivered_total", C(MailStatistics.MessagesSpamPassed), ("class", "spam_passed"));
        w.Sample("assp_messages_delivered_total", C(MailStatistics.MessagesWhitelisted), ("class", "whitelisted"));
        w.Sample("assp_messages_delivered_total", C(MailStatistics.MessagesNoProcessing), ("class", "noprocessing"));
        w.Sample("assp_messages_delivered_total", C(MailStatistics.MessagesOutgoing), ("class", "outgoing"));
        w.Family("assp_delivered_bytes_total", "counter", "Bytes of the messages handed to the MTA.");
        w.Sample("assp_delivered_bytes_total", C(MailStatistics.BytesDelivered));

        w.Family("assp_check_hits_total", "counter", "Messages or connections a check found something in (any mode), by the check name the maillog uses.");
        foreach (var c in stats.Checks) w.Sample("assp_check_hits_total", c.Hits, ("check", c.Check));
        w.Family("assp_check_blocks_total", "counter", "Refusals made by a check, by the check name the maillog uses.");
        foreach (var c in stats.Checks) w.Sample("assp_check_blocks_total", c.Blocks, ("check", c.Check));
        w.Family("assp_rejects_total", "counter", "Refusals by reason: the refusing check, or the limit or SMTP step that refused.");
        foreach (var (reason, n) in stats.RejectsByReason) w.Sample("assp_rejects_total", n, ("reason", reason));

        w.Family("assp_message_score", "histogram", "Final message scores of the messages that reached an end.");
        long cumulative = 0;
        foreach (var bucket in stats.ScoreHistogram)
        {
            cumulative += bucket.Count;
            w.Sample("assp_message_score_bucket", cumulative, ("le", double.IsPositiveInfinity(bucket.UpperBound) ? "+Inf" : Num(bucket.UpperBound)));
        }
        w.Sample("assp_message_score_sum", stats.ScoreSum);
        w.Sample("assp_message_score_count", stats.ScoreCount);

        if (health is not null)
        {
            var probed = health.Probes.Where(p => p.Status != HealthStatus.Disabled).ToList();
            w.Family("assp_health_probe_up", "gauge", "1 when the probe's last run succeeded (a warning counts as up), 0 when it failed.");
            foreach (var p in probed) w.Sample("assp_health_probe_up", p.Status == HealthStatus.Failed ? 0 : 1, ("probe", p.Name));
            w.Family("assp_health_probe_duration_seconds", "gauge", "How long the probe's last run took.");
            foreach (var p in probed) w.Sample("assp_health_probe_duration_seconds", p.DurationMs / 1000.0, ("probe", p.Name));
            w.Family("assp_health_probe_timestamp_seconds", "gauge", "When the probe last ran (Unix time).");
            foreach (var p in probed) w.Sample("assp_health_probe_timestamp_seconds", p.CheckedAt.ToUnixTimeSeconds(), ("probe", p.Name));
        }
        return w.ToString();
    }

    private static string Num(double v) =>
        double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : double.IsNaN(v) ? "NaN" : v.ToString("R", CultureInfo.InvariantCulture);

    private sealed class Writer
    {
        private readonly StringBuilder _sb = new(4096);

        public void Family(string name, string type, string help) =>
            _sb.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\\", "\\\\").Replace("\n", "\\n")).Append('\n')
               .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

        public void Sample(string name, double value, params (string Name, string Value)[] labels)
        {
            _sb.Append(name);
            if (labels.Length > 0)
            {
                _sb.Append('{');
                for (int i = 0; i < labels.Length; i++)
                {
                    if (i > 0) _sb.Append(',');
                    _sb.Append(labels[i].Name).Append("=\"")
                       .Append(labels[i].Value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n")).Append('"');
                }
                _sb.Append('}');
            }
            _sb.Append(' ').Append(Num(value)).Append('\n');
        }

        public override string ToString() => _sb.ToString();
    }
}
