using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Engine.Data;

/// <summary>A run of tokens that are all learned or all masked, as text.</summary>
/// <param name="Text">The decoded tokens.</param>
/// <param name="Learned">True when these tokens carry labels (the loss is computed on them).</param>
/// <param name="Tokens">How many tokens the run holds.</param>
public sealed record PreviewSpan(string Text, bool Learned, int Tokens);

/// <summary>One tokenized sequence of a previewed example.</summary>
/// <param name="Name">"input", or "chosen"/"rejected" (pairwise), "kl" (KTO), "reference" (prompt-only answers).</param>
/// <param name="Spans">The sequence as alternating masked/learned spans.</param>
/// <param name="Tokens">Total tokens.</param>
/// <param name="LearnedTokens">Tokens with labels.</param>
public sealed record PreviewSequence(string Name, IReadOnlyList<PreviewSpan> Spans, int Tokens, int LearnedTokens);

/// <summary>One record as the board shows it: the raw fields, the converted example, and the templated tokens.</summary>
/// <param name="RecordIndex">0-based record index in its file.</param>
/// <param name="File">The data file.</param>
/// <param name="Line">1-based line, for text formats.</param>
/// <param name="Raw">The record's fields as JSON text.</param>
/// <param name="Example">The converted example, when conversion succeeded.</param>
/// <param name="Error">Why the record is rejected, when it is.</param>
/// <param name="Sequences">Tokenized sequences (empty without a tokenizer, or for rejected records).</param>
public sealed record PreviewExample(long RecordIndex, string File, int? Line, string Raw, DataExample? Example, string? Error,
                                    IReadOnlyList<PreviewSequence> Sequences);

/// <summary>
/// The preview behind the board's dataset view: the first N records of a dataset, raw, converted and rendered
/// through the template with the label-masked spans marked, read without loading the whole dataset.
/// </summary>
public static class DatasetPreview
{
    /// <summary>Previews the first <paramref name="count"/> records of <paramref name="dataset"/>.</summary>
    /// <param name="options">Data options (dataset_dir, template, cutoff_len, train_on_prompt, …).</param>
    /// <param name="dataset">The dataset name.</param>
    /// <param name="stage">The stage to render for.</param>
    /// <param name="count">How many records.</param>
    /// <param name="tokenizer">The model's tokenizer; null shows raw and converted records only.</param>
    public static IReadOnlyList<PreviewExample> Preview(DataPipelineOptions options, string dataset, DataStage stage, int count,
                                                        ITextTokenizer? tokenizer = null)
    {
        var registry = DatasetRegistry.Load(options.DatasetDir);
        var attributes = registry.Get(dataset);
        var outcomes = DatasetLoader.Stream(registry, attributes, stage).Take(Math.Max(0, count)).ToList();
        var examples = outcomes.Where(o => o.Example is not null).Select(o => o.Example!).ToList();

        IStageProcessor? processor = null;
        if (tokenizer is not null && examples.Count > 0)
        {
            var template = DataPipeline.ResolveTemplate(options, stage);
            var templateTokenizer = new TemplateTokenizer(tokenizer, template);
            // Each example is previewed on its own, so pre-training shows one document per sample.
            processor = DataPipeline.CreateProcessor(stage, templateTokenizer, options with { Packing = false, NeatPacking = false });
        }

        var result = new List<PreviewExample>(outcomes.Count);
        int exampleIndex = 0;
        foreach (var outcome in outcomes)
        {
            string raw = outcome.Record.Fields?.ToJsonString(new System.Text.Json.JsonSerializerOptions
            {
                WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            }) ?? "";
            if (outcome.Example is null)
            {
                result.Add(new PreviewExample(outcome.Record.Index, outcome.File, outcome.Record.Line, raw, null,
                                              outcome.Error?.Message, []));
                continue;
            }
            var sequences = new List<PreviewSequence>();
            string? error = null;
            if (processor is not null)
            {
                try
                {
                    var sample = processor.Encode(examples, exampleIndex);
                    sequences.AddRange(Describe(tokenizer!, stage, sample));
                }
                catch (DatasetException e)
                {
                    error = e.Message;
                }
            }
            exampleIndex++;
            result.Add(new PreviewExample(outcome.Record.Index, outcome.File, outcome.Record.Line, raw, outcome.Example, error, sequences));
        }
        return result;
    }

    static IEnumerable<PreviewSequence> Describe(ITextTokenizer tokenizer, DataStage stage, TokenizedSample sample)
    {
        switch (stage)
        {
            case DataStage.Pairwise:
                yield return Spans(tokenizer, "chosen", sample.Main);
                yield return Spans(tokenizer, "rejected", sample.Rejected!);
                break;
            case DataStage.Feedback:
                yield return Spans(tokenizer, "input", sample.Main);
                yield return Spans(tokenizer, "kl", sample.Kl!);
                break;
            case DataStage.Unsupervised:
                // The input is the prompt (nothing learned); the labels are the reference answer.
                yield return new PreviewSequence("input", [new PreviewSpan(tokenizer.Decode(sample.Main.InputIds), false, sample.Main.Length)],
                                                 sample.Main.Length, 0);
                if (sample.Main.Labels.Length > 0)
                    yield return new PreviewSequence("reference",
                        [new PreviewSpan(tokenizer.Decode(sample.Main.Labels), true, sample.Main.Labels.Length)],
                        sample.Main.Labels.Length, sample.Main.Labels.Length);
                break;
            default:
                yield return Spans(tokenizer, "input", sample.Main);
                break;
        }
    }

    /// <summary>Splits a sequence into runs of learned and masked tokens.</summary>
    public static PreviewSequence Spans(ITextTokenizer tokenizer, string name, TokenSequence sequence)
    {
        var spans = new List<PreviewSpan>();
        int start = 0;
        for (int i = 1; i <= sequence.Length; i++)
        {
            bool learned = sequence.Labels[start] != TokenSequence.IgnoreIndex;
            if (i < sequence.Length && (sequence.Labels[i] != TokenSequence.IgnoreIndex) == learned) continue;
            spans.Add(new PreviewSpan(tokenizer.Decode(sequence.InputIds[start..i]), learned, i - start));
            start = i;
        }
        return new PreviewSequence(name, spans, sequence.Length, sequence.LearnedTokens);
    }
}
