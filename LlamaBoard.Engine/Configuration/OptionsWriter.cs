using System.Globalization;
using System.Text;

namespace LlamaBoard.Engine.Configuration;

/// <summary>Which keys <see cref="OptionsWriter"/> writes.</summary>
public enum OptionsWriteMode
{
    /// <summary>Only keys whose value differs from the default (LLaMA-Factory's own example files look like this).</summary>
    ChangedOnly,
    /// <summary>Every supported key, defaults included (a complete, self-describing file).</summary>
    All,
}

/// <summary>
/// Writes options as LLaMA-Factory-style YAML: grouped under <c>### model</c>, <c>### method</c>,
/// <c>### dataset</c>, <c>### output</c>, <c>### train</c>, <c>### eval</c>, <c>### generate</c> and <c>### export</c>
/// comments, lists as "a,b", numbers as 1.0e-4. Ignored LLaMA-Factory keys that were read are written back,
/// marked with a comment. The board's Save and Preview use the same code as the command line.
/// </summary>
public static class OptionsWriter
{
    /// <summary>The comment appended to keys LlamaBoard does not act on.</summary>
    public const string IgnoredComment = "# ignored by LlamaBoard";

    /// <summary>The options as YAML text. <see cref="OptionsWriteMode.ChangedOnly"/> (the default) keeps files short.</summary>
    public static string ToYaml(LlamaBoardOptions options, OptionsWriteMode mode = OptionsWriteMode.ChangedOnly)
    {
        var text = new StringBuilder();
        foreach (var section in Enum.GetValues<OptionSection>())
        {
            var keys = Ordered(options, mode).Where(k => k.Section == section).ToList();
            if (keys.Count == 0) continue;
            if (text.Length > 0) text.Append('\n');
            text.Append("### ").Append(SectionName(section)).Append('\n');
            foreach (var key in keys)
            {
                text.Append(key.Name).Append(": ").Append(Render(Node(key, options), inFlow: false));
                if (key.Support == OptionSupport.Ignored) text.Append("  ").Append(IgnoredComment);
                text.Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>Writes <see cref="ToYaml"/>'s text to <paramref name="path"/> atomically (a temporary file, then a rename).</summary>
    public static void Save(LlamaBoardOptions options, string path, OptionsWriteMode mode = OptionsWriteMode.ChangedOnly)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temporary = $"{full}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temporary, ToYaml(options, mode), new UTF8Encoding(false));
        File.Move(temporary, full, overwrite: true);
    }

    /// <summary>The changed keys as <c>key=value</c> arguments, e.g. for a command-line preview.</summary>
    public static IReadOnlyList<string> ToOverrides(LlamaBoardOptions options) =>
        Ordered(options, OptionsWriteMode.ChangedOnly).Select(k => $"{k.Name}={Render(Node(k, options), inFlow: false)}").ToList();

    /// <summary>
    /// A shell command that runs these options without a file, e.g.
    /// <c>llamaboard train model_name_or_path=models/demo stage=sft ...</c> (the board's command preview).
    /// Arguments are quoted for POSIX shells where needed.
    /// </summary>
    public static string ToCommandLine(string command, LlamaBoardOptions options) =>
        string.Join(' ', new[] { "llamaboard", command }.Concat(ToOverrides(options).Select(ShellQuote)));

    static string ShellQuote(string argument) =>
        argument.All(c => char.IsAsciiLetterOrDigit(c) || "_-=.,/:+@%".Contains(c, StringComparison.Ordinal))
            ? argument
            : "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>The keys to write, by section, then in LLaMA-Factory's usual order, then in registry order.</summary>
    static IEnumerable<OptionKey> Ordered(LlamaBoardOptions options, OptionsWriteMode mode) =>
        OptionRegistry.Keys.Where(k => Writes(k, options, mode)).OrderBy(k => k.Section).ThenBy(k => Rank(k.Name));

    /// <summary>
    /// The order LLaMA-Factory's example files use for the common keys of each section, so saved files read like
    /// them; other keys follow in registry order.
    /// </summary>
    static readonly string[] PreferredOrder =
    [
        "model_name_or_path", "adapter_name_or_path", "quantization_bit", "quantization_method", "quantization_type",
        "stage", "do_train", "finetuning_type", "lora_rank", "lora_alpha", "lora_dropout", "lora_target",
        "freeze_trainable_layers", "freeze_trainable_modules", "pref_beta", "pref_loss",
        "dataset", "template", "cutoff_len", "max_samples", "overwrite_cache", "preprocessing_num_workers",
        "output_dir", "logging_steps", "save_steps", "plot_loss", "overwrite_output_dir", "save_only_model", "report_to",
        "per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate", "num_train_epochs", "max_steps",
        "lr_scheduler_type", "warmup_ratio", "bf16", "fp16",
        "eval_dataset", "val_size", "per_device_eval_batch_size", "eval_strategy", "eval_steps",
        "export_dir", "export_size", "export_device", "export_format",
    ];

    static int Rank(string name)
    {
        int index = Array.IndexOf(PreferredOrder, name);
        return index < 0 ? PreferredOrder.Length : index;
    }

    /// <summary>The section's name as written after <c>###</c>.</summary>
    public static string SectionName(OptionSection section) =>
        ((EnumType)OptionType.For(typeof(OptionSection), nullable: false)).Spell(section);

    static bool Writes(OptionKey key, LlamaBoardOptions options, OptionsWriteMode mode) => key.Support == OptionSupport.Ignored
        ? key.GetValue(options) is not null
        : mode == OptionsWriteMode.All || !key.IsDefault(options);

    static ConfigNode Node(OptionKey key, LlamaBoardOptions options) => key.Type.Format(key.GetValue(options));

    /// <summary>
    /// A value as YAML: scalars quoted only where needed, lists as [a, b], mappings as {k: v}. Outside brackets
    /// (<paramref name="inFlow"/> false) commas may stay unquoted, as in LLaMA-Factory's "dataset: a,b".
    /// </summary>
    internal static string Render(ConfigNode node, bool inFlow) => node switch
    {
        ConfigScalar { IsNull: true } => "null",
        ConfigScalar scalar => scalar.Quoted && NeedsQuotes(scalar.Text, inFlow) ? Quote(scalar.Text) : scalar.Text,
        ConfigSequence sequence => "[" + string.Join(", ", sequence.Items.Select(i => Render(i, inFlow: true))) + "]",
        ConfigMapping mapping => "{" + string.Join(", ", mapping.Entries.Select(e =>
            $"{(NeedsQuotes(e.Key, inFlow: true) ? Quote(e.Key) : e.Key)}: {Render(e.Value, inFlow: true)}")) + "}",
        _ => throw new NotSupportedException(node.GetType().Name),
    };

    static readonly HashSet<string> YamlWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n",
    };

    /// <summary>
    /// True when text written plain would be read back as something else (null, a boolean, a number) or would
    /// break the YAML (indicators, ": ", " #", edges with spaces, control characters). Checked against YAML 1.1
    /// as well, so PyYAML (LLaMA-Factory) reads our files the same way.
    /// </summary>
    static bool NeedsQuotes(string text, bool inFlow)
    {
        if (text.Length == 0 || YamlWords.Contains(text)) return true;
        if (OptionType.TryParseDouble(text, out _) || text.StartsWith('.')) return true;
        if ("-?:,[]{}#&*!|>'\"%@`".Contains(text[0], StringComparison.Ordinal)) return true;
        if (char.IsWhiteSpace(text[0]) || char.IsWhiteSpace(text[^1])) return true;
        if (text.Contains(": ", StringComparison.Ordinal) || text.Contains(" #", StringComparison.Ordinal) || text.EndsWith(':')) return true;
        return text.Any(c => char.IsControl(c) || (inFlow && c is '[' or ']' or '{' or '}' or ','));
    }

    /// <summary>A double-quoted YAML scalar (the escapes are JSON's, which YAML shares).</summary>
    static string Quote(string text)
    {
        var quoted = new StringBuilder("\"");
        foreach (char c in text)
            quoted.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        return quoted.Append('"').ToString();
    }
}
