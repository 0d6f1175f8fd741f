namespace LlamaBoard.Tests.Engine.Training;

/// <summary>
/// Tests that compare exact loss curves draw from libtorch's global random generator (adapter initialisation,
/// dropout masks); other test classes running in parallel would draw from it too. This collection runs alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTorchCollection
{
    public const string Name = "Serial torch RNG";
}
