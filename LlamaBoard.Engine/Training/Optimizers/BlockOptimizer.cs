using System.Text.RegularExpressions;
using TorchSharp.Modules;

namespace LlamaBoard.Engine.Training.Optimizers;

/// <summary>Block order of layer-wise BAdam (badam_switch_mode).</summary>
public enum BlockSwitchMode
{
    /// <summary>0, 1, 2, … then around again.</summary>
    Ascending,
    /// <summary>Last, …, 1, 0, then around again.</summary>
    Descending,
    /// <summary>A fresh random permutation of the blocks each round.</summary>
    Random,
    /// <summary>The start block only.</summary>
    Fixed,
}

/// <summary>BAdam's layer-wise settings (LLaMA-Factory's badam_* keys).</summary>
/// <param name="SwitchMode">Order of the blocks.</param>
/// <param name="SwitchInterval">Optimizer steps per block; -1 never switches.</param>
/// <param name="StartBlock">First block; null: 0 (ascending, fixed), the last (descending), random (random).</param>
/// <param name="Seed">Seed of the random order.</param>
/// <param name="Verbose">0 quiet, 1 logs each switch, 2 also lists the block's parameters.</param>
public sealed record BAdamSettings(BlockSwitchMode SwitchMode = BlockSwitchMode.Ascending, int SwitchInterval = 50,
                                   int? StartBlock = null, int Seed = 42, int Verbose = 0);

/// <summary>
/// BAdam (Luo et al. 2024), layer-wise: block coordinate descent over the decoder layers. One block (the parameters
/// of one <c>model.layers.N</c>) trains at a time with Adam; every other parameter is frozen, gets no gradient and
/// holds no optimizer state or fp32 master. After badam_switch_interval steps the block's optimizer (moments,
/// masters) is dropped and the next block starts fresh, so optimizer memory is that of the largest layer, not of
/// the model. Parameters outside the decoder layers (embeddings, final norm, head) are not trained, as in BAdam's
/// default (include_embedding and include_lm_head off).
/// </summary>
public sealed partial class BlockOptimizer : ITrainingOptimizer
{
    readonly List<List<TrainableParameter>> blocks;
    readonly List<TrainableParameter> all;
    readonly OptimizerSettings settings;
    readonly BAdamSettings badam;
    readonly Action<string>? log;
    readonly Random random;
    List<int> order = [];
    TrainingOptimizer inner;
    int stepsInBlock;

    /// <summary>
    /// Sets up BAdam over <paramref name="parameters"/> (the trainable parameters of full or freeze tuning); blocks
    /// are their decoder layers in ascending order.
    /// </summary>
    public BlockOptimizer(IReadOnlyList<TrainableParameter> parameters, OptimizerSettings settings, BAdamSettings badam, Action<string>? log = null)
    {
        all = parameters.ToList();
        blocks = parameters.Select(p => (Layer: LayerOf(p.Name), Parameter: p)).Where(p => p.Layer is not null)
                           .GroupBy(p => p.Layer!.Value).OrderBy(g => g.Key).Select(g => g.Select(p => p.Parameter).ToList()).ToList();
        if (blocks.Count == 0)
            throw new ArgumentException("use_badam: no trainable decoder layer (model.layers.N); BAdam trains one layer at a time.");
        if (badam.StartBlock is { } start && (start < 0 || start >= blocks.Count))
            throw new ArgumentException($"badam_start_block: {start} is not a block; this model has blocks 0 to {blocks.Count - 1} (its trainable layers).");
        if (badam.SwitchInterval == 0 || badam.SwitchInterval < -1)
            throw new ArgumentException($"badam_switch_interval: {badam.SwitchInterval} must be positive, or -1 to never switch.");
        if (settings.GaLore is not null) throw new ArgumentException("use_badam cannot be combined with use_galore.");
        this.settings = settings;
        this.badam = badam;
        this.log = log;
        random = new Random(badam.Seed);
        ActiveBlock = badam.StartBlock ?? badam.SwitchMode switch
        {
            BlockSwitchMode.Descending => blocks.Count - 1,
            BlockSwitchMode.Random => NextRandom(),
            _ => 0,
        };
        var outside = all.Where(p => LayerOf(p.Name) is null).ToList();
        if (outside.Count > 0)
            log?.Invoke($"BAdam trains decoder layers only; {outside.Count} other parameters (for example {outside[0].Name}) stay frozen.");
        inner = Activate(ActiveBlock);
    }

    /// <summary>Index of the block that trains now.</summary>
    public int ActiveBlock { get; private set; }

    /// <summary>Number of blocks.</summary>
    public int BlockCount => blocks.Count;

    /// <summary>The parameters of block <paramref name="index"/>.</summary>
    public IReadOnlyList<TrainableParameter> Block(int index) => blocks[index];

    /// <inheritdoc />
    public IEnumerable<TrainableParameter> Parameters => blocks[ActiveBlock];

    /// <inheritdoc />
    public long TrainableElements => blocks[ActiveBlock].Sum(p => p.Parameter.numel());

    /// <inheritdoc />
    public double CurrentLearningRate => inner.CurrentLearningRate;

    /// <inheritdoc />
    public void ZeroGrad() => inner.ZeroGrad();

    /// <inheritdoc />
    public double? Step(double learningRateMultiplier, double maxGradNorm)
    {
        double? norm = inner.Step(learningRateMultiplier, maxGradNorm);
        stepsInBlock++;
        if (badam.SwitchInterval > 0 && stepsInBlock >= badam.SwitchInterval && badam.SwitchMode != BlockSwitchMode.Fixed)
        {
            ActiveBlock = badam.SwitchMode switch
            {
                BlockSwitchMode.Ascending => (ActiveBlock + 1) % blocks.Count,
                BlockSwitchMode.Descending => (ActiveBlock - 1 + blocks.Count) % blocks.Count,
                _ => NextRandom(),
            };
            inner.Dispose();
            inner = Activate(ActiveBlock);
            stepsInBlock = 0;
        }
        return norm;
    }

    /// <summary>Makes block <paramref name="index"/> the only trainable one and gives it a fresh optimizer.</summary>
    TrainingOptimizer Activate(int index)
    {
        var active = blocks[index].Select(p => p.Parameter).ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var spec in all)
        {
            bool on = active.Contains(spec.Parameter);
            spec.Parameter.requires_grad = on;
            if (!on) spec.Parameter.grad = null;
        }
        if (badam.Verbose >= 1)
            log?.Invoke($"BAdam: training block {index} ({blocks[index].Count} parameters, layer {LayerOf(blocks[index][0].Name)}).");
        if (badam.Verbose >= 2)
            foreach (var spec in blocks[index]) log?.Invoke($"  {spec.Name}");
        return new TrainingOptimizer(blocks[index], settings);
    }

    int NextRandom()
    {
        // BAdam draws a permutation per round and pops from it, so every block trains once per round.
        if (order.Count == 0) order = Enumerable.Range(0, blocks.Count).OrderBy(_ => random.Next()).ToList();
        int next = order[^1];
        order.RemoveAt(order.Count - 1);
        return next;
    }

    static int? LayerOf(string name)
    {
        var match = LayerPattern().Match(name);
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    [GeneratedRegex(@"^model\.layers\.(\d+)\.")]
    private static partial Regex LayerPattern();

    /// <inheritdoc />
    public void Save(Stream stream)
    {
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(ActiveBlock);
            writer.Write(stepsInBlock);
            writer.Write(order.Count);
            foreach (int block in order) writer.Write(block);
        }
        inner.Save(stream);
    }

    /// <inheritdoc />
    public void Load(Stream stream, string sourceName)
    {
        using (var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            try
            {
                int block = reader.ReadInt32();
                if (block < 0 || block >= blocks.Count)
                    throw new InvalidDataException($"{sourceName}: BAdam state names block {block}; this run has {blocks.Count} blocks.");
                stepsInBlock = reader.ReadInt32();
                order = Enumerable.Range(0, reader.ReadInt32()).Select(_ => reader.ReadInt32()).ToList();
                ActiveBlock = block;
            }
            catch (EndOfStreamException)
            {
                throw new InvalidDataException($"{sourceName}: optimizer state is truncated.");
            }
        }
        inner.Dispose();
        inner = Activate(ActiveBlock);
        inner.Load(stream, sourceName);
    }

    /// <inheritdoc />
    public void Dispose() => inner.Dispose();
}
