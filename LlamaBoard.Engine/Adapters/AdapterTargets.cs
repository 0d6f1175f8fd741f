using System.Text.RegularExpressions;
using LlamaBoard.Engine.Models;

namespace LlamaBoard.Engine.Adapters;

/// <summary>
/// Which projections of a model a LoRA adapter wraps, from LLaMA-Factory's <c>lora_target</c> or PEFT's
/// <c>target_modules</c>: "all" (or "all-linear") = every linear layer except the output head; a list of names
/// matches a projection when it equals the full name or its last part (PEFT's suffix rule); a single string that
/// is not a name is a regular expression over full names (PEFT's rule for a string).
/// </summary>
public static class AdapterTargets
{
    /// <summary>The projections <paramref name="targets"/> selects, by HF name, in model order.</summary>
    /// <exception cref="ArgumentException">Nothing matches, or a name matches nothing; the message lists the valid names.</exception>
    public static IReadOnlyList<string> Resolve(DecoderModel model, IReadOnlyList<string> targets, IReadOnlyList<int>? layers = null)
    {
        var all = model.NamedProjections().Select(p => p.Name).ToList();
        var candidates = layers is null ? all : all.Where(n => LayerOf(n) is { } l && layers.Contains(l)).ToList();
        if (targets.Count == 0)
            throw new ArgumentException("lora_target is empty; use 'all' or names such as q_proj,v_proj.");

        if (targets.Count == 1 && targets[0] is "all" or "all-linear")
            return candidates.Where(n => n != "lm_head").ToList();

        if (targets.Count == 1 && !IsPlainName(targets[0]))
        {
            var regex = new Regex("^(?:" + targets[0] + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            var matched = candidates.Where(n => regex.IsMatch(n)).ToList();
            return matched.Count > 0 ? matched
                : throw new ArgumentException($"lora_target regular expression '{targets[0]}' matches no projection; projections look like {candidates[0]}.");
        }

        var selected = new List<string>();
        var shortNames = candidates.Select(ShortName).Distinct().ToList();
        foreach (string target in targets)
        {
            var hits = candidates.Where(n => n == target || n.EndsWith("." + target, StringComparison.Ordinal) || (target == "lm_head" && n == "lm_head")).ToList();
            if (hits.Count == 0)
                throw new ArgumentException($"lora_target '{target}' is not a linear layer of this model; use 'all' or some of: {string.Join(", ", shortNames)}.");
            selected.AddRange(hits);
        }
        return candidates.Where(selected.Contains).ToList();
    }

    /// <summary>The short names (q_proj, …) of <paramref name="projections"/>, as PEFT stores target_modules.</summary>
    public static IReadOnlyList<string> ShortNames(IEnumerable<string> projections) =>
        projections.Select(ShortName).Distinct().Order(StringComparer.Ordinal).ToList();

    static string ShortName(string name) => name[(name.LastIndexOf('.') + 1)..];

    static bool IsPlainName(string target) => Regex.IsMatch(target, @"^[A-Za-z0-9_.]+$");

    static int? LayerOf(string name)
    {
        var match = Regex.Match(name, @"^model\.layers\.(\d+)\.");
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }
}
