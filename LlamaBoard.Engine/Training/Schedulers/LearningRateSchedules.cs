namespace LlamaBoard.Engine.Training.Schedulers;

/// <summary>
/// The learning-rate schedules of Hugging Face's <c>get_scheduler</c>, as multipliers of the base learning rate
/// at a given optimizer step (0-based: the multiplier used by the step about to be taken). A registry keyed by
/// the names LLaMA-Factory configs use (<c>lr_scheduler_type</c>).
/// </summary>
public static class LearningRateSchedules
{
    /// <summary>A schedule: multiplier for optimizer step <c>step</c> of <c>total</c>, with <c>warmup</c> warmup steps.</summary>
    /// <remarks><c>baseRate</c> matters only to the polynomial schedule, whose end point is an absolute rate.</remarks>
    public delegate double Schedule(long step, long total, long warmup, double baseRate);

    static readonly Dictionary<string, Schedule> Registry = new(StringComparer.Ordinal)
    {
        ["constant"] = (_, _, _, _) => 1.0,
        ["constant_with_warmup"] = (step, _, warmup, _) => step < warmup ? Warmup(step, warmup) : 1.0,
        ["linear"] = (step, total, warmup, _) => step < warmup
            ? Warmup(step, warmup)
            : Math.Max(0.0, (double)(total - step) / Math.Max(1, total - warmup)),
        ["cosine"] = (step, total, warmup, _) => step < warmup
            ? Warmup(step, warmup)
            : Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * 0.5 * 2.0 * Progress(step, total, warmup)))),
        ["cosine_with_restarts"] = (step, total, warmup, _) =>
        {
            if (step < warmup) return Warmup(step, warmup);
            double progress = Progress(step, total, warmup);
            // One hard restart cycle by default, as transformers' num_cycles=1.
            return progress >= 1.0 ? 0.0 : Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * (progress % 1.0))));
        },
        ["polynomial"] = (step, total, warmup, baseRate) => step < warmup ? Warmup(step, warmup) : PolynomialDecay(step, total, warmup, baseRate),
        ["inverse_sqrt"] = (step, _, warmup, _) =>
        {
            if (step < warmup) return Warmup(step, warmup);
            // transformers uses the warmup length as the time scale, or 10,000 steps without warmup.
            double timescale = warmup > 0 ? warmup : 10_000;
            double shift = timescale - warmup;
            return 1.0 / Math.Sqrt((step + shift) / timescale);
        },
    };

    /// <summary>The schedule names this engine knows, for validation messages.</summary>
    public static IReadOnlyCollection<string> Names => Registry.Keys;

    /// <summary>Looks up a schedule by its <c>lr_scheduler_type</c> name.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static Schedule Get(string name) => Registry.TryGetValue(name, out var schedule)
        ? schedule
        : throw new ArgumentException($"lr_scheduler_type '{name}' is not supported; use one of: {string.Join(", ", Registry.Keys)}.", nameof(name));

    /// <summary>
    /// Warmup length as Hugging Face computes it: <paramref name="warmupSteps"/> when positive, else
    /// ceil(<paramref name="warmupRatio"/> × total steps).
    /// </summary>
    public static long WarmupSteps(long totalSteps, long warmupSteps, double warmupRatio) =>
        warmupSteps > 0 ? warmupSteps : (long)Math.Ceiling(totalSteps * warmupRatio);

    static double Warmup(long step, long warmup) => (double)step / Math.Max(1, warmup);

    static double Progress(long step, long total, long warmup) => (double)(step - warmup) / Math.Max(1, total - warmup);

    static double PolynomialDecay(long step, long total, long warmup, double baseRate)
    {
        // transformers' defaults: decay linearly (power 1) from the base rate to the absolute rate lr_end = 1e-7.
        const double EndRate = 1e-7;
        if (baseRate <= EndRate) return 1.0;
        if (step > total) return EndRate / baseRate;
        double remaining = 1.0 - (double)(step - warmup) / Math.Max(1, total - warmup);
        return ((baseRate - EndRate) * remaining + EndRate) / baseRate;
    }
}
