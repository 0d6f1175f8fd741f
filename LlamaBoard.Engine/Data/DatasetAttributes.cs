namespace LlamaBoard.Engine.Data;

/// <summary>How the records of a dataset are laid out (dataset_info.json <c>formatting</c>).</summary>
public enum DatasetFormatting
{
    /// <summary>instruction / input / output columns, optional history, system, tools.</summary>
    Alpaca,
    /// <summary>A list of {from, value} messages in one column.</summary>
    ShareGpt,
    /// <summary>A list of OpenAI chat messages {role, content, tool_calls}.</summary>
    OpenAi,
}

/// <summary>Where a dataset_info.json entry points.</summary>
public enum DatasetSource
{
    /// <summary><c>file_name</c>: a file or folder under dataset_dir.</summary>
    File,
    /// <summary><c>hf_hub_url</c>: the Hugging Face hub.</summary>
    HuggingFaceHub,
    /// <summary><c>ms_hub_url</c>: ModelScope.</summary>
    ModelScopeHub,
    /// <summary><c>om_hub_url</c>: Modelers.</summary>
    OpenMindHub,
    /// <summary><c>script_url</c>: a Python loading script.</summary>
    Script,
    /// <summary><c>cloud_file_name</c>: S3 or GCS.</summary>
    CloudFile,
}

/// <summary>
/// Column names (dataset_info.json <c>columns</c>); null means the column is not used. The defaults are
/// LLaMA-Factory's; for <see cref="DatasetFormatting.OpenAi"/> the message column defaults to <c>messages</c>.
/// </summary>
public sealed record DatasetColumns
{
    /// <summary>Alpaca instruction column (pre-training datasets map it to their text column).</summary>
    public string? Prompt { get; init; } = "instruction";
    /// <summary>Alpaca input column, appended to the instruction after a newline.</summary>
    public string? Query { get; init; } = "input";
    /// <summary>Alpaca response column.</summary>
    public string? Response { get; init; } = "output";
    /// <summary>Alpaca history column: a list of [prompt, response] pairs.</summary>
    public string? History { get; init; }
    /// <summary>ShareGPT / OpenAI message list column.</summary>
    public string? Messages { get; init; } = "conversations";
    /// <summary>System prompt column.</summary>
    public string? System { get; init; }
    /// <summary>Tool description column (JSON text or a JSON list).</summary>
    public string? Tools { get; init; }
    /// <summary>Preferred response column (ranking datasets).</summary>
    public string? Chosen { get; init; }
    /// <summary>Dispreferred response column (ranking datasets).</summary>
    public string? Rejected { get; init; }
    /// <summary>KTO desirability column (booleans).</summary>
    public string? KtoTag { get; init; }
}

/// <summary>ShareGPT / OpenAI role spellings (dataset_info.json <c>tags</c>).</summary>
public sealed record DatasetTags
{
    /// <summary>Key of the role inside a message.</summary>
    public string RoleTag { get; init; } = "from";
    /// <summary>Key of the text inside a message.</summary>
    public string ContentTag { get; init; } = "value";
    /// <summary>Role value of the user.</summary>
    public string UserTag { get; init; } = "human";
    /// <summary>Role value of the assistant.</summary>
    public string AssistantTag { get; init; } = "gpt";
    /// <summary>Role value of a tool result.</summary>
    public string ObservationTag { get; init; } = "observation";
    /// <summary>Role value of a tool call.</summary>
    public string FunctionTag { get; init; } = "function_call";
    /// <summary>Role value of the system prompt.</summary>
    public string SystemTag { get; init; } = "system";

    /// <summary>The OpenAI chat spellings, used as defaults for <see cref="DatasetFormatting.OpenAi"/>.</summary>
    public static DatasetTags OpenAi { get; } = new()
    {
        RoleTag = "role", ContentTag = "content", UserTag = "user", AssistantTag = "assistant",
        ObservationTag = "tool", FunctionTag = "function", SystemTag = "system",
    };
}

/// <summary>One entry of dataset_info.json, with LLaMA-Factory's defaults filled in.</summary>
public sealed record DatasetAttributes
{
    /// <summary>The entry's key in dataset_info.json.</summary>
    public required string Name { get; init; }
    /// <summary>Where the data lives.</summary>
    public DatasetSource Source { get; init; } = DatasetSource.File;
    /// <summary>File or folder (relative to dataset_dir) for <see cref="DatasetSource.File"/>; the URL otherwise.</summary>
    public required string Location { get; init; }
    /// <summary>Record layout.</summary>
    public DatasetFormatting Formatting { get; init; } = DatasetFormatting.Alpaca;
    /// <summary>True for preference (chosen/rejected) data: reward modelling and DPO-style stages.</summary>
    public bool Ranking { get; init; }
    /// <summary>Hub subset name (kept for round-tripping; files ignore it).</summary>
    public string? Subset { get; init; }
    /// <summary>Split to read (hub datasets; local files have one split).</summary>
    public string Split { get; init; } = "train";
    /// <summary>Hub folder (kept for round-tripping).</summary>
    public string? Folder { get; init; }
    /// <summary>Sample this many records (with repetition when larger than the dataset).</summary>
    public int? NumSamples { get; init; }
    /// <summary>Column names.</summary>
    public DatasetColumns Columns { get; init; } = new();
    /// <summary>Role spellings for message lists.</summary>
    public DatasetTags Tags { get; init; } = new();
}
