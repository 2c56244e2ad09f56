namespace Assp.Config.Scheduling;

/// <summary>
/// ASSP's "do it now" checkboxes (forceLDAPcrossCheck, …): when the option is switched on the job runs at once.
/// ASSP clears the checkbox in its config afterwards; assp.cfg is not rewritten here, so a run happens when the
/// option is on at start or goes from off to on in a reload, not on every reload that leaves it on.
/// </summary>
public static class ActionSwitch
{
    public static void RunJobWhenSwitchedOn(this Scheduler scheduler, ConfigManager manager, string option, string job)
    {
        bool wasOn = false;
        object gate = new();
        void Follow(ConfigSnapshot cfg)
        {
            bool on = cfg.GetBool(option);
            bool start;
            lock (gate)
            {
                start = on && !wasOn;
                wasOn = on;
            }
            if (start) _ = scheduler.RunNowAsync(job);
        }
        manager.Reloaded += (cfg, _) => Follow(cfg);
        Follow(manager.Current);
    }
}
