using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Engine.Data.Processors;

/// <summary>
/// Pre-training: each text ends with the tokenizer's own EOS (the document separator of the base model). With
/// packing (the default here) all texts are concatenated and cut into cutoff_len blocks, the incomplete tail
/// dropped, and for tokenizers that start texts with BOS each block starts with BOS. Without packing each text
/// is one sample, cut at cutoff_len. Labels equal the inputs. With neat_packing, documents inside a block get
/// their own segment ids and positions so they do not attend to each other.
/// </summary>
public sealed class PretrainProcessor(ITextTokenizer tokenizer, DataPipelineOptions options) : IStageProcessor
{
    /// <inheritdoc/>
    public DataStage Stage => DataStage.Pretrain;

    int Eos => tokenizer.EosTokenId ?? tokenizer.TokenToId("<|endoftext|>") ??
               throw new ArgumentException("the tokenizer has no EOS token to separate pre-training documents");

    /// <inheritdoc/>
    public TokenizedSample Encode(IReadOnlyList<DataExample> examples, int index)
    {
        var text = examples[index].Messages[0].Content;
        var ids = new List<int>(text.Length / 3 + 2);
        bool packing = options.PackingFor(Stage);
        if (!packing && tokenizer.AddsBosToken && tokenizer.BosTokenId is { } bos) ids.Add(bos);
        ids.AddRange(tokenizer.Encode(text));
        ids.Add(Eos);
        if (!packing && ids.Count > options.CutoffLen) ids.RemoveRange(options.CutoffLen, ids.Count - options.CutoffLen);
        int[] array = [.. ids];
        return new TokenizedSample(new TokenSequence(array, array));
    }

    /// <inheritdoc/>
    public List<TokenizedSample> Finish(IReadOnlyList<TokenizedSample> encoded)
    {
        if (!options.PackingFor(Stage)) return [.. encoded];
        int block = options.CutoffLen;
        long total = encoded.Sum(s => (long)s.Main.Length);
        int blocks = (int)(total / block);
        var rows = new List<TokenizedSample>(blocks);
        int sample = 0, offset = 0;
        for (int b = 0; b < blocks; b++)
        {
            var input = new int[block];
            var segments = options.NeatPacking ? new int[block] : null;
            var positions = options.NeatPacking ? new int[block] : null;
            int filled = 0, segment = 0;
            while (filled < block)
            {
                var ids = encoded[sample].Main.InputIds;
                int n = Math.Min(ids.Length - offset, block - filled);
                Array.Copy(ids, offset, input, filled, n);
                segment++;
                for (int t = 0; t < n && segments is not null; t++)
                {
                    segments[filled + t] = segment;
                    positions![filled + t] = t;
                }
                filled += n;
                offset += n;
                if (offset == ids.Length)
                {
                    sample++;
                    offset = 0;
                }
            }
            if (tokenizer.AddsBosToken && tokenizer.BosTokenId is { } bos) input[0] = bos;
            rows.Add(new TokenizedSample(new TokenSequence(input, input, segments, positions)));
        }
        return rows;
    }
}
