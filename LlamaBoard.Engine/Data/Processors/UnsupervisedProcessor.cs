using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Engine.Data.Processors;

/// <summary>
/// Prompt-only data (PPO prompts, prediction): the input is the prompt up to the assistant's cue; the labels
/// hold the reference response when the example has one (for generation metrics), else nothing.
/// </summary>
public sealed class UnsupervisedProcessor(TemplateTokenizer tokenizer, DataPipelineOptions options) : IStageProcessor
{
    /// <inheritdoc/>
    public DataStage Stage => DataStage.Unsupervised;

    /// <inheritdoc/>
    public TokenizedSample Encode(IReadOnlyList<DataExample> examples, int index)
    {
        var example = examples[index];
        IReadOnlyList<ChatMessage> messages = example.HasResponse
            ? example.Messages
            : [.. example.Messages, new ChatMessage(ChatRole.Assistant, "")];
        var turn = Formatting.Guard(example, () =>
            TemplateFormatter.FormatOneturn(tokenizer.Template, messages, example.System, example.Tools));
        var prompt = tokenizer.Encode(turn.Prompt);
        var response = example.HasResponse ? tokenizer.Encode(turn.Response) : [];
        if (example.HasResponse && tokenizer.Template.EfficientEos) response.Add(tokenizer.EosTokenId);
        var (source, target) = SequenceLengths.Infer(prompt.Count, response.Count, options.CutoffLen);
        return new TokenizedSample(new TokenSequence([.. prompt.GetRange(0, source)], [.. response.GetRange(0, target)]));
    }

    /// <inheritdoc/>
    public List<TokenizedSample> Finish(IReadOnlyList<TokenizedSample> encoded) => [.. encoded];
}
