namespace LlamaBoard.Engine.Configuration;

/// <summary>How serious a configuration message is.</summary>
public enum MessageSeverity
{
    /// <summary>The configuration cannot run as written.</summary>
    Error,
    /// <summary>The configuration runs, but something in it is ignored or approximated.</summary>
    Warning,
}

/// <summary>
/// One problem with a configuration. <see cref="Text"/> starts with the key and says what the value is and
/// what is allowed, e.g. <c>lora_rank: 0 is not allowed; it must be at least 1</c>.
/// </summary>
/// <param name="Severity">Error or warning.</param>
/// <param name="Key">The key concerned (a form can highlight it); empty for problems with the file itself.</param>
/// <param name="Text">The message, starting with the key.</param>
/// <param name="Source">Where the value came from: "file.yaml:7", "command line"; null when unknown.</param>
public sealed record ConfigMessage(MessageSeverity Severity, string Key, string Text, string? Source = null)
{
    /// <summary>An error about <paramref name="key"/>; the text is prefixed with the key.</summary>
    public static ConfigMessage Error(string key, string problem, string? source = null) =>
        new(MessageSeverity.Error, key, key.Length == 0 ? problem : $"{key}: {problem}", source);

    /// <summary>A warning about <paramref name="key"/>; the text is prefixed with the key.</summary>
    public static ConfigMessage Warning(string key, string problem, string? source = null) =>
        new(MessageSeverity.Warning, key, key.Length == 0 ? problem : $"{key}: {problem}", source);

    /// <summary>"source: text", or the text alone.</summary>
    public override string ToString() => Source is null ? Text : $"{Source}: {Text}";
}

/// <summary>All messages about one configuration, errors and warnings together (every problem, not only the first).</summary>
public sealed class ValidationReport
{
    readonly List<ConfigMessage> messages = [];

    /// <summary>An empty result.</summary>
    public ValidationReport() { }

    /// <summary>A result holding <paramref name="messages"/>.</summary>
    public ValidationReport(IEnumerable<ConfigMessage> messages) => this.messages.AddRange(messages);

    /// <summary>Every message in the order found.</summary>
    public IReadOnlyList<ConfigMessage> Messages => messages;

    /// <summary>The errors.</summary>
    public IEnumerable<ConfigMessage> Errors => messages.Where(m => m.Severity == MessageSeverity.Error);

    /// <summary>The warnings.</summary>
    public IEnumerable<ConfigMessage> Warnings => messages.Where(m => m.Severity == MessageSeverity.Warning);

    /// <summary>True when there is no error (warnings allowed).</summary>
    public bool IsValid => !Errors.Any();

    /// <summary>Adds a message.</summary>
    public void Add(ConfigMessage message) => messages.Add(message);

    /// <summary>Adds messages.</summary>
    public void AddRange(IEnumerable<ConfigMessage> more) => messages.AddRange(more);

    /// <summary>The messages about <paramref name="key"/>.</summary>
    public IEnumerable<ConfigMessage> For(string key) => messages.Where(m => m.Key == key);
}
