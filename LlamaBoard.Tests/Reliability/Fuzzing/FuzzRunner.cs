using System.Diagnostics;
using System.Globalization;
using System.Text;
using LlamaBoard.Tests.Engine.Data;

namespace LlamaBoard.Tests.Reliability.Fuzzing;

/// <summary>A case that ended badly: the kind of defect, the mutation, and where its input was saved.</summary>
internal sealed record FuzzDefect(int Case, string Kind, string Mutation, string Detail, string SavedInput);

/// <summary>What a run of one target found.</summary>
internal sealed record FuzzReport(string Target, int Cases, int Accepted, IReadOnlyDictionary<string, int> Rejected,
                                  IReadOnlyList<FuzzDefect> Defects, long MaxAllocatedBytes, TimeSpan Elapsed)
{
    /// <summary>One line for the test output and the closing note.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Target}: {Cases} cases in {Elapsed.TotalSeconds:0.0} s, {Accepted} accepted, ") +
        $"{Cases - Accepted - Defects.Count} rejected ({string.Join(", ", Rejected.OrderByDescending(r => r.Value).Select(r => $"{r.Key} {r.Value}"))}), " +
        string.Create(CultureInfo.InvariantCulture, $"{Defects.Count} defects, max allocation {MaxAllocatedBytes / 1e6:0.0} MB");
}

/// <summary>
/// Runs a target's cases one at a time, each on a fresh thread with a 1 MB stack (smaller than the thread pool's,
/// so a parser that recurses per nesting level is caught here before it overflows in the board), with a time limit
/// and the thread's allocated bytes measured. The case folder is fixed (<c>.cache/fuzz/&lt;target&gt;</c>), so if a
/// case ever takes the process down, its input is still on disk; defects' inputs are copied to
/// <c>.cache/fuzz/findings</c>.
/// </summary>
internal static class FuzzRunner
{
    /// <summary>Environment variable: cases per target (CI default <see cref="DefaultCases"/>).</summary>
    public const string CasesVariable = "LLAMABOARD_FUZZ_CASES";

    /// <summary>Environment variable: the base seed (default 20241127).</summary>
    public const string SeedVariable = "LLAMABOARD_FUZZ_SEED";

    /// <summary>Cases per target in CI: the whole fuzz suite stays around a minute on two shared cores.</summary>
    public const int DefaultCases = 150;

    const int StackBytes = 1 << 20;

    /// <summary>Cases per target: <see cref="CasesVariable"/>, or the CI default scaled by <paramref name="weight"/>.</summary>
    public static int Cases(double weight = 1) =>
        int.TryParse(Environment.GetEnvironmentVariable(CasesVariable), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : Math.Max(10, (int)(DefaultCases * weight));

    static int BaseSeed =>
        int.TryParse(Environment.GetEnvironmentVariable(SeedVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out int s) ? s : 20241127;

    /// <summary>Runs <paramref name="cases"/> mutated inputs (plus each seed unchanged first) through the target.</summary>
    public static FuzzReport Run(FuzzTarget target, int cases)
    {
        string root = Path.Combine(RepositoryPaths.Root, ".cache", "fuzz");
        string folder = Path.Combine(root, target.Name);
        string findings = Path.Combine(root, "findings");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        target.Prepare(folder);
        string file = Path.Combine(folder, target.FileName);

        var clock = Stopwatch.StartNew();
        var rejected = new Dictionary<string, int>(StringComparer.Ordinal);
        var defects = new List<FuzzDefect>();
        int accepted = 0;
        long maxAllocated = 0;
        int total = target.Seeds.Count + cases;
        for (int i = 0; i < total; i++)
        {
            // Seeds first, unchanged: they must parse, or the target is set up wrong.
            var rng = new Random(CaseSeed(target.Name, i));
            FuzzInput input;
            bool isSeed = i < target.Seeds.Count;
            if (isSeed)
                input = new FuzzInput(target.Seeds[i].Data, $"seed {target.Seeds[i].Name} unchanged");
            else
            {
                var seed = target.Seeds[rng.Next(target.Seeds.Count)];
                var mutated = Mutator.Mutate(seed.Data, seed.Kind, rng);
                input = mutated with { Description = $"seed {seed.Name}: {mutated.Description}" };
            }
            File.WriteAllBytes(file, input.Data);

            var outcome = RunCase(target, folder);
            maxAllocated = Math.Max(maxAllocated, outcome.Allocated);
            string? defect = outcome switch
            {
                { TimedOut: true } => "hang",
                { Error: { } e } when !target.Allowed.Any(t => t.IsInstanceOfType(e)) => "exception " + e.GetType().Name,
                { Error: { } e } when target.RequiredInMessage is { } name && !e.Message.Contains(name, StringComparison.Ordinal) => "message does not name the file",
                { Error: not null } when isSeed => "seed rejected",
                _ when outcome.Allocated > target.AllocationBound(input.Data.Length) => "unbounded allocation",
                _ => null,
            };
            if (defect is not null)
            {
                Directory.CreateDirectory(findings);
                string saved = Path.Combine(findings, $"{target.Name}-{i}{Path.GetExtension(target.FileName)}");
                File.WriteAllBytes(saved, input.Data);
                string detail = outcome.TimedOut
                    ? $"still running after {target.Timeout.TotalSeconds} s"
                    : string.Create(CultureInfo.InvariantCulture, $"allocated {outcome.Allocated / 1e6:0.0} MB (bound {target.AllocationBound(input.Data.Length) / 1e6:0.0} MB)")
                      + (outcome.Error is { } error ? $"; {error.GetType().FullName}: {Shorten(error.Message)}\n{Shorten(error.StackTrace ?? "", 1200)}" : "");
                defects.Add(new FuzzDefect(i, defect, input.Description, detail, saved));
                if (outcome.TimedOut) break; // the hung thread keeps its CPU; stop here rather than pile up more
            }
            else if (outcome.Error is { } error)
                rejected[error.GetType().Name] = rejected.GetValueOrDefault(error.GetType().Name) + 1;
            else
                accepted++;
        }
        return new FuzzReport(target.Name, total, accepted, rejected, defects, maxAllocated, clock.Elapsed);
    }

    /// <summary>
    /// The case's RNG seed from the base seed, the target and the index; stable across processes (string.GetHashCode
    /// and HashCode are randomised per process), so a reported case can be replayed.
    /// </summary>
    public static int CaseSeed(string target, int index)
    {
        uint hash = 2166136261;
        foreach (char c in target) hash = (hash ^ c) * 16777619;
        return unchecked((int)(hash * 31 + (uint)BaseSeed * 1_000_003u + (uint)index * 7919u));
    }

    sealed record CaseOutcome(Exception? Error, long Allocated, bool TimedOut);

    static CaseOutcome RunCase(FuzzTarget target, string folder)
    {
        Exception? error = null;
        long allocated = 0;
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                target.Parse(folder);
            }
            catch (Exception e)
            {
                error = e;
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }, StackBytes) { IsBackground = true, Name = "fuzz " + target.Name };
        thread.Start();
        if (!thread.Join(target.Timeout)) return new CaseOutcome(null, 0, TimedOut: true);
        return new CaseOutcome(error, allocated, TimedOut: false);
    }

    static string Shorten(string text, int max = 300) => text.Length <= max ? text : text[..max] + "…";

    /// <summary>A readable list of the defects for an assertion message.</summary>
    public static string Describe(FuzzReport report)
    {
        var sb = new StringBuilder().AppendLine(report.ToString());
        foreach (var d in report.Defects.Take(8))
            sb.AppendLine(CultureInfo.InvariantCulture, $"  case {d.Case}: {d.Kind} after {Shorten(d.Mutation, 200)} (input: {d.SavedInput})")
              .AppendLine("    " + d.Detail.Replace("\n", "\n    ", StringComparison.Ordinal));
        return sb.ToString();
    }
}
