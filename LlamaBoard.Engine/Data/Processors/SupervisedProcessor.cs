using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Engine.Data.Processors;

/// <summary>
/// Supervised fine-tuning: every turn of the conversation is encoded; prompts get -100 labels (unless
/// train_on_prompt), responses are learned (only the last one with mask_history, which also gives the last
/// turns priority when cutting). Turns are added until cutoff_len, each split between prompt and response by
/// <see cref="SequenceLengths.Infer"/>. With packing, <see cref="Finish"/> packs samples into rows.
/// </summary>
public sealed class SupervisedProcessor(TemplateTokenizer tokenizer, DataPipelineOptions options) : IStageProcessor
{
    /// <inheritdoc/>
    public DataStage Stage => DataStage.Supervised;

    /// <inheritdoc/>
    public TokenizedSample Encode(IReadOnlyList<DataExample> examples, int index)
    {
        var example = examples[index];
        var template = tokenizer.Template;
        var turns = Formatting.Guard(example, () => TemplateFormatter.FormatMultiturn(template, example.Messages, example.System, example.Tools));
        if (options.MaskHistory) turns.Reverse(); // the last turns matter most

        int cutoff = options.CutoffLen;
        var input = new List<int>();
        var labels = new List<int>();
        int total = template.EfficientEos ? 1 : 0;
        for (int turn = 0; turn < turns.Count; turn++)
        {
            if (total >= cutoff) break;
            var source = tokenizer.Encode(turns[turn].Prompt);
            var target = tokenizer.Encode(turns[turn].Response);
            var (sourceLength, targetLength) = SequenceLengths.Infer(source.Count, target.Count, cutoff - total);
            source = source.GetRange(0, sourceLength);
            target = target.GetRange(0, targetLength);
            total += sourceLength + targetLength;

            List<int> sourceLabels;
            if (options.TrainOnPrompt) sourceLabels = source;
            else if (template.EfficientEos && turn != 0 && sourceLength > 0)
                sourceLabels = [tokenizer.EosTokenId, .. Enumerable.Repeat(TokenSequence.IgnoreIndex, sourceLength - 1)];
            else sourceLabels = [.. Enumerable.Repeat(TokenSequence.IgnoreIndex, sourceLength)];
            var targetLabels = options.MaskHistory && turn != 0
                ? [.. Enumerable.Repeat(TokenSequence.IgnoreIndex, targetLength)]
                : target;

            if (options.MaskHistory)
            {
                input.InsertRange(0, [.. source, .. target]);
                labels.InsertRange(0, [.. sourceLabels, .. targetLabels]);
            }
            else
            {
                input.AddRange(source);
                input.AddRange(target);
                labels.AddRange(sourceLabels);
                labels.AddRange(targetLabels);
            }
        }
        if (template.EfficientEos)
        {
            input.Add(tokenizer.EosTokenId);
            labels.Add(tokenizer.EosTokenId);
        }
        return new TokenizedSample(new TokenSequence([.. input], [.. labels]));
    }

    /// <inheritdoc/>
    public List<TokenizedSample> Finish(IReadOnlyList<TokenizedSample> encoded) =>
        options.PackingFor(Stage) ? Packing.Pack(encoded, options.CutoffLen) : [.. encoded];
}

/// <summary>Turns template errors into dataset errors that name the example.</summary>
internal static class Formatting
{
    public static T Guard<T>(DataExample example, Func<T> format)
    {
        try
        {
            return format();
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            var o = example.Origin;
            throw new DatasetException(e.Message, o.Dataset, o.File, o.RecordIndex, o.Line, inner: e);
        }
    }
}
