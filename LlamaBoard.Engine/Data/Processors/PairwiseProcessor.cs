using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Engine.Data.Processors;

/// <summary>
/// Preference pairs (reward modelling, DPO, ORPO, SimPO): the chosen and the rejected response share one prompt;
/// the prompt is cut first, as both responses are cut to the longer one's share of cutoff_len.
/// </summary>
public sealed class PairwiseProcessor(TemplateTokenizer tokenizer, DataPipelineOptions options) : IStageProcessor
{
    /// <inheritdoc/>
    public DataStage Stage => DataStage.Pairwise;

    /// <inheritdoc/>
    public TokenizedSample Encode(IReadOnlyList<DataExample> examples, int index)
    {
        var example = examples[index];
        var template = tokenizer.Template;
        var chosenTurn = Formatting.Guard(example, () =>
            TemplateFormatter.FormatOneturn(template, [.. example.Messages, example.Chosen!], example.System, example.Tools));
        var rejectedTurn = Formatting.Guard(example, () =>
            TemplateFormatter.FormatOneturn(template, [.. example.Messages, example.Rejected!], example.System, example.Tools));
        var prompt = tokenizer.Encode(chosenTurn.Prompt);
        var chosen = tokenizer.Encode(chosenTurn.Response);
        var rejected = tokenizer.Encode(rejectedTurn.Response);
        if (template.EfficientEos)
        {
            chosen.Add(tokenizer.EosTokenId);
            rejected.Add(tokenizer.EosTokenId);
        }
        var (source, target) = SequenceLengths.Infer(prompt.Count, Math.Max(chosen.Count, rejected.Count), options.CutoffLen);
        prompt = prompt.GetRange(0, source);
        return new TokenizedSample(
            Sequences.PromptResponse(prompt, chosen.GetRange(0, Math.Min(target, chosen.Count))),
            Sequences.PromptResponse(prompt, rejected.GetRange(0, Math.Min(target, rejected.Count))));
    }

    /// <inheritdoc/>
    public List<TokenizedSample> Finish(IReadOnlyList<TokenizedSample> encoded) => [.. encoded];
}

/// <summary>Builds prompt + response sequences with the prompt masked.</summary>
internal static class Sequences
{
    public static TokenSequence PromptResponse(List<int> prompt, List<int> response) =>
        new([.. prompt, .. response], [.. Enumerable.Repeat(TokenSequence.IgnoreIndex, prompt.Count), .. response]);
}
