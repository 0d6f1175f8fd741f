using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Data.Templates;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training.Preference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training.Preference;

/// <summary>
/// The reward model as PPO and the API use it: a reward adapter scored through a separate merged copy
/// (<see cref="RewardScorer"/>) and swapped into the policy's LoRA layers (<see cref="SharedLoraReward"/>) gives the
/// same scores; padding does not change a score; the policy's weights come back unchanged; a scoring server is asked
/// in LLaMA-Factory's format.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class RewardScorerTests
{
    public RewardScorerTests() => Torch.EnsureReady();

    static readonly int[][] Sequences = [[5, 17, 99, 3, 41, 8, 77, 120], [250, 7, 9], [64, 33, 12, 90, 1]];

    /// <summary>A reward adapter as stage rm saves it: PEFT adapter + value_head.safetensors.</summary>
    static void WriteRewardAdapter(string folder, int rank, double alpha, long seed)
    {
        using var model = HfModelLoader.Load(TrainingFixtures.TinyModel(), ScalarType.Float32, CPU).Model;
        manual_seed(seed);
        LoraAdapter.Attach(model, new LoraSettings(rank, alpha), AdapterTargets.Resolve(model, ["q_proj", "v_proj", "down_proj"]));
        using (no_grad())
            foreach (var (_, layer) in LoraAdapter.Layers(model)) layer.LoraB.normal_(0, 0.2);
        PeftAdapterFiles.Save(model, folder, new PeftAdapterConfig
        {
            Rank = rank, Alpha = alpha, TargetModules = ["q_proj", "v_proj", "down_proj"], BaseModelNameOrPath = TrainingFixtures.TinyModel(),
        });
        using var head = new ValueHead(64, CPU);
        head.Save(folder);
    }

    [Fact]
    public void Swapped_adapter_scores_equal_a_merged_copy_and_leave_the_policy_unchanged()
    {
        using var dir = new TempDirectory();
        WriteRewardAdapter(dir.File("rm"), rank: 8, alpha: 32, seed: 4);
        using var scorer = RewardScorer.Load(dir.File("rm"), ScalarType.Float32, CPU);
        var merged = scorer.Score(Sequences);

        // The policy: its own adapter (rank 8, alpha 16, every linear layer) with non-zero weights.
        using var policy = HfModelLoader.Load(TrainingFixtures.TinyModel(), ScalarType.Float32, CPU).Model;
        manual_seed(5);
        LoraAdapter.Attach(policy, new LoraSettings(8, 16), AdapterTargets.Resolve(policy, ["all"]));
        using (no_grad())
            foreach (var (_, layer) in LoraAdapter.Layers(policy)) layer.LoraB.normal_(0, 0.1);
        var before = LoraAdapter.Layers(policy).SelectMany(l => new[] { l.Layer.LoraA.detach().clone(), l.Layer.LoraB.detach().clone() }).ToList();
        policy.train();

        var (shared, reason) = SharedLoraReward.TryCreate(policy, dir.File("rm"));
        Assert.True(shared is not null, reason);
        using (shared)
        {
            var swapped = shared!.Score(Sequences);
            for (int i = 0; i < merged.Length; i++)
                Assert.True(Math.Abs(merged[i] - swapped[i]) < 1e-4, $"sequence {i}: merged {merged[i]}, swapped {swapped[i]}");
        }
        var after = LoraAdapter.Layers(policy).SelectMany(l => new[] { l.Layer.LoraA, l.Layer.LoraB }).ToList();
        for (int i = 0; i < before.Count; i++) Assert.True(before[i].eq(after[i]).all().item<bool>(), $"policy tensor {i} changed");
        Assert.True(policy.training, "the policy's mode is restored");

        // Padding does not change a score: alone or beside longer sequences.
        Assert.Equal(merged[1], scorer.Score([Sequences[1]])[0], 4);
    }

    [Fact]
    public void An_adapter_of_another_rank_cannot_share_the_policy_layers()
    {
        using var dir = new TempDirectory();
        WriteRewardAdapter(dir.File("rm"), rank: 4, alpha: 8, seed: 4);
        using var policy = HfModelLoader.Load(TrainingFixtures.TinyModel(), ScalarType.Float32, CPU).Model;
        LoraAdapter.Attach(policy, new LoraSettings(8, 16), AdapterTargets.Resolve(policy, ["all"]));
        var (shared, reason) = SharedLoraReward.TryCreate(policy, dir.File("rm"));
        Assert.Null(shared);
        Assert.Contains("rank 4", reason);
    }

    [Fact]
    public void A_folder_without_a_value_head_is_refused_with_the_file_named()
    {
        using var dir = new TempDirectory();
        WriteRewardAdapter(dir.File("rm"), rank: 4, alpha: 8, seed: 4);
        File.Delete(dir.File("rm/value_head.safetensors"));
        var error = Assert.Throws<InvalidDataException>(() => RewardScorer.Load(dir.File("rm"), ScalarType.Float32, CPU));
        Assert.Contains("value_head.safetensors", error.Message);
    }

    sealed class FakeServer(Func<string, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public List<string> Bodies { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            string body = await request.Content!.ReadAsStringAsync(cancellationToken);
            Bodies.Add(body);
            return answer(body);
        }
    }

    sealed class Letters : ITextTokenizer
    {
        public int? BosTokenId => null;
        public int? EosTokenId => null;
        public int? PadTokenId => null;
        public string? BosToken => null;
        public string? EosToken => null;
        public bool AddsBosToken => false;
        public int VocabSize => 65536;
        public IReadOnlyList<int> Encode(string text) => text.Select(c => (int)c).ToList();
        public string Decode(IEnumerable<int> ids) => new(ids.Select(i => (char)i).ToArray());
        public int? TokenToId(string token) => null;
    }

    [Fact]
    public void Api_rewards_post_decoded_texts_and_read_scores()
    {
        var server = new FakeServer(_ => new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StringContent("{\"scores\": [0.5, -1.25]}", Encoding.UTF8, "application/json"),
        });
        using var reward = new ApiReward("http://scores.test/v1/score/evaluation", new Letters(), new HttpClient(server));
        var scores = reward.Score([[(int)'h', (int)'i'], [(int)'n', (int)'o']]);
        Assert.Equal([0.5f, -1.25f], scores);
        var body = JsonNode.Parse(server.Bodies.Single())!.AsObject();
        Assert.Equal("model", (string)body["model"]!);
        Assert.Equal(["hi", "no"], body["messages"]!.AsArray().Select(n => (string)n!));

        var wrong = new FakeServer(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"scores\": [1]}") });
        using var short_ = new ApiReward("http://scores.test/", new Letters(), new HttpClient(wrong));
        var error = Assert.Throws<InvalidOperationException>(() => short_.Score([[1], [2]]));
        Assert.Contains("2 numbers", error.Message);
    }
}
