using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Engine.Data.Processors;

/// <summary>
/// KTO: each example's response is learned as desirable or not (its kto_tag), and a KL sequence pairs the same
/// prompt with a mismatched response (the previous example's, the first taking the last's) to estimate the
/// reference KL term, as in LLaMA-Factory and the KTO paper.
/// </summary>
public sealed class FeedbackProcessor(TemplateTokenizer tokenizer, DataPipelineOptions options) : IStageProcessor
{
    /// <inheritdoc/>
    public DataStage Stage => DataStage.Feedback;

    /// <inheritdoc/>
    public TokenizedSample Encode(IReadOnlyList<DataExample> examples, int index)
    {
        var example = examples[index];
        var neighbour = examples[(index - 1 + examples.Count) % examples.Count];
        var prompt = example.Messages.Take(example.Messages.Count - 1).ToList();
        var main = EncodeTurn(example, [.. prompt, example.Messages[^1]]);
        var kl = EncodeTurn(example, [.. prompt, neighbour.Messages[^1] with { }]);
        return new TokenizedSample(main, Kl: kl, KtoTag: example.KtoLabel);
    }

    TokenSequence EncodeTurn(DataExample example, IReadOnlyList<ChatMessage> messages)
    {
        var turn = Formatting.Guard(example, () =>
            TemplateFormatter.FormatOneturn(tokenizer.Template, messages, example.System, example.Tools));
        var prompt = tokenizer.Encode(turn.Prompt);
        var response = tokenizer.Encode(turn.Response);
        if (tokenizer.Template.EfficientEos) response.Add(tokenizer.EosTokenId);
        var (source, target) = SequenceLengths.Infer(prompt.Count, response.Count, options.CutoffLen);
        return Sequences.PromptResponse(prompt.GetRange(0, source), response.GetRange(0, target));
    }

    /// <inheritdoc/>
    public List<TokenizedSample> Finish(IReadOnlyList<TokenizedSample> encoded) => [.. encoded];
}
