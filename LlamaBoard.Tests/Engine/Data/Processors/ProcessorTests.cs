using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Tests.Engine.Data.Processors;

public class ProcessorTests
{
    const int Ignore = TokenSequence.IgnoreIndex;
    static readonly ExampleOrigin Origin = new("t", "t.json", 0);

    static ChatMessage U(string text) => new(ChatRole.User, text);
    static ChatMessage A(string text) => new(ChatRole.Assistant, text);
    static DataExample Ex(params ChatMessage[] messages) => new() { Messages = messages, Origin = Origin };

    static TemplateTokenizer Qwen(string name = "qwen3_nothink") => new(CharTokenizer.ChatMl(), ChatTemplates.Get(name));

    static string Decode(TemplateTokenizer t, IEnumerable<int> ids) => t.Tokenizer.Decode(ids);

    static string Learned(TemplateTokenizer t, TokenSequence s) =>
        Decode(t, s.InputIds.Where((_, i) => s.Labels[i] != Ignore));

    [Fact]
    public void Supervised_masks_every_prompt_and_learns_every_response()
    {
        var t = Qwen();
        var sample = new SupervisedProcessor(t, new DataPipelineOptions()).Encode([Ex(U("Hi"), A("Yo"), U("Q"), A("Ans"))], 0);
        string all = Decode(t, sample.Main.InputIds);
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n" +
                     "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nAns<|im_end|>\n", all);
        Assert.Equal("Yo<|im_end|>\nAns<|im_end|>\n", Learned(t, sample.Main));
        Assert.Equal(sample.Main.InputIds.Length, sample.Main.Labels.Length);
        // Labels equal the inputs wherever they are learned.
        for (int i = 0; i < sample.Main.Length; i++)
            Assert.True(sample.Main.Labels[i] == Ignore || sample.Main.Labels[i] == sample.Main.InputIds[i]);
    }

    [Fact]
    public void Train_on_prompt_and_mask_history()
    {
        var t = Qwen();
        var example = Ex(U("Hi"), A("Yo"), U("Q"), A("Ans"));
        var onPrompt = new SupervisedProcessor(t, new DataPipelineOptions { TrainOnPrompt = true }).Encode([example], 0);
        Assert.DoesNotContain(Ignore, onPrompt.Main.Labels);

        var lastOnly = new SupervisedProcessor(t, new DataPipelineOptions { MaskHistory = true }).Encode([example], 0);
        Assert.Equal("Ans<|im_end|>\n", Learned(t, lastOnly.Main));
        Assert.StartsWith("<|im_start|>user\nHi", Decode(t, lastOnly.Main.InputIds)); // order is restored
    }

    [Fact]
    public void Cutoff_is_shared_between_prompt_and_response_like_infer_seqlen()
    {
        Assert.Equal((90, 10), SequenceLengths.Infer(200, 10, 100));   // short response kept, prompt cut
        Assert.Equal((10, 90), SequenceLengths.Infer(10, 200, 100));   // short prompt kept, response cut
        Assert.Equal((60, 40), SequenceLengths.Infer(150, 100, 100));  // both cut in proportion
        Assert.Equal((3, 4), SequenceLengths.Infer(3, 4, 100));        // fits

        var t = Qwen();
        var long_ = Ex(U(new string('p', 200)), A(new string('r', 200)));
        var sample = new SupervisedProcessor(t, new DataPipelineOptions { CutoffLen = 64 }).Encode([long_], 0);
        Assert.Equal(64, sample.Main.Length);
        // Prompt 219 tokens (6 + 200 + 2 + 11), response 202 (200 + 2): both over half, so the response keeps
        // int(64 * 202 / 421) = 30 tokens and the prompt the other 34.
        Assert.Equal(30, sample.Main.LearnedTokens);
    }

    [Fact]
    public void Later_turns_stop_once_cutoff_is_used_up()
    {
        var t = Qwen();
        var example = Ex(U("a"), A(new string('x', 40)), U("b"), A("y"));
        var sample = new SupervisedProcessor(t, new DataPipelineOptions { CutoffLen = 60 }).Encode([example], 0);
        Assert.True(sample.Main.Length <= 60);
        Assert.DoesNotContain("b<|im_end|>", Decode(t, sample.Main.InputIds));
    }

    [Fact]
    public void Efficient_eos_learns_one_eos_at_the_next_prompt()
    {
        var template = ChatTemplates.Get("vicuna") with { EfficientEos = true, Assistant = SlotFormat.Of("{{content}}") };
        var t = new TemplateTokenizer(CharTokenizer.Llama(), template);
        var sample = new SupervisedProcessor(t, new DataPipelineOptions()).Encode([Ex(U("a"), A("b"), U("c"), A("d"))], 0);
        int eos = t.EosTokenId;
        Assert.Equal(eos, sample.Main.InputIds[^1]);
        Assert.Equal(eos, sample.Main.Labels[^1]);
        Assert.Equal(2, sample.Main.Labels.Count(l => l == eos)); // end of turn 1 (at turn 2's prompt) and the final EOS
    }

    [Fact]
    public void Pairwise_shares_the_prompt_between_chosen_and_rejected()
    {
        var t = Qwen();
        var example = new DataExample { Messages = [U("Q")], Chosen = A("good"), Rejected = A("bad!!"), Origin = Origin };
        var sample = new PairwiseProcessor(t, new DataPipelineOptions()).Encode([example], 0);
        string prompt = "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n";
        Assert.Equal(prompt + "good<|im_end|>\n", Decode(t, sample.Main.InputIds));
        Assert.Equal(prompt + "bad!!<|im_end|>\n", Decode(t, sample.Rejected!.InputIds));
        Assert.Equal("good<|im_end|>\n", Learned(t, sample.Main));
        Assert.Equal("bad!!<|im_end|>\n", Learned(t, sample.Rejected));
    }

    [Fact]
    public void Feedback_pairs_each_prompt_with_the_previous_examples_response_for_kl()
    {
        var t = Qwen();
        DataExample Kto(string q, string a, bool tag) => new() { Messages = [U(q), A(a)], KtoLabel = tag, Origin = Origin };
        var examples = new[] { Kto("q0", "a0", true), Kto("q1", "a1", false), Kto("q2", "a2", true) };
        var p = new FeedbackProcessor(t, new DataPipelineOptions());
        var samples = Enumerable.Range(0, 3).Select(i => p.Encode(examples, i)).ToList();
        Assert.Equal([true, false, true], samples.Select(s => s.KtoTag!.Value));
        Assert.Contains("q0", Decode(t, samples[0].Main.InputIds));
        Assert.Equal("a0<|im_end|>\n", Learned(t, samples[0].Main));
        Assert.Contains("q0", Decode(t, samples[0].Kl!.InputIds));
        Assert.Equal("a2<|im_end|>\n", Learned(t, samples[0].Kl!)); // first takes the last response
        Assert.Equal("a0<|im_end|>\n", Learned(t, samples[1].Kl!));
    }

    [Fact]
    public void Unsupervised_keeps_the_prompt_and_the_reference_answer_apart()
    {
        var t = Qwen("qwen3");
        var p = new UnsupervisedProcessor(t, new DataPipelineOptions());
        var withAnswer = p.Encode([Ex(U("Q"), A("A"))], 0);
        Assert.Equal("<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n", Decode(t, withAnswer.Main.InputIds));
        Assert.Equal("<think>\n\n</think>\n\nA<|im_end|>\n", Decode(t, withAnswer.Main.Labels));
        var promptOnly = p.Encode([Ex(U("Q"))], 0);
        Assert.Empty(promptOnly.Main.Labels);
    }

    [Fact]
    public void Pretraining_concatenates_and_cuts_blocks_and_drops_the_tail()
    {
        var tokenizer = CharTokenizer.Llama();
        var options = new DataPipelineOptions { CutoffLen = 4 };
        var p = new PretrainProcessor(tokenizer, options);
        var examples = new[] { Ex(U("abc")), Ex(U("defgh")) };
        var encoded = Enumerable.Range(0, 2).Select(i => p.Encode(examples, i)).ToList();
        var blocks = p.Finish(encoded);
        // "abc</s>defgh</s>" = 10 tokens → 2 blocks of 4, tail of 2 dropped; each block starts with BOS.
        Assert.Equal(2, blocks.Count);
        Assert.Equal("<s>bc</s>", tokenizer.Decode(blocks[0].Main.InputIds));
        Assert.Equal("<s>efg", tokenizer.Decode(blocks[1].Main.InputIds));
        Assert.Equal(blocks[0].Main.InputIds, blocks[0].Main.Labels);
        Assert.Null(blocks[0].Main.SegmentIds!);

        var neat = new PretrainProcessor(tokenizer, options with { NeatPacking = true }).Finish(encoded);
        Assert.Equal([1, 1, 1, 1], neat[0].Main.SegmentIds!);
        Assert.Equal([1, 1, 1, 1], neat[1].Main.SegmentIds!);
        var wide = new PretrainProcessor(tokenizer, options with { NeatPacking = true, CutoffLen = 8 }).Finish(encoded);
        Assert.Equal([1, 1, 1, 1, 2, 2, 2, 2], wide[0].Main.SegmentIds!);
        Assert.Equal([0, 1, 2, 3, 0, 1, 2, 3], wide[0].Main.PositionIds!);

        var unpacked = new PretrainProcessor(tokenizer, options with { Packing = false, CutoffLen = 5 });
        var single = unpacked.Encode(examples, 1);
        Assert.Equal("<s>defg", tokenizer.Decode(single.Main.InputIds));
    }

    [Fact]
    public void Packing_fills_rows_and_isolates_samples()
    {
        var t = Qwen();
        var options = new DataPipelineOptions { CutoffLen = 100, Packing = true };
        var p = new SupervisedProcessor(t, options);
        var examples = Enumerable.Range(0, 7).Select(i => Ex(U(new string('q', 5 + 7 * i)), A(new string('a', 3 + i)))).ToList();
        var encoded = Enumerable.Range(0, examples.Count).Select(i => p.Encode(examples, i)).ToList();
        var rows = p.Finish(encoded);
        Assert.True(rows.Count < examples.Count);
        Assert.All(rows, r => Assert.True(r.Main.Length <= 100));
        Assert.Equal(encoded.Sum(e => e.Main.Length), rows.Sum(r => r.Main.Length));
        foreach (var row in rows)
        {
            var s = row.Main;
            for (int i = 0; i < s.Length; i++)
            {
                bool starts = i == 0 || s.SegmentIds![i] != s.SegmentIds[i - 1];
                Assert.Equal(starts ? 0 : s.PositionIds![i - 1] + 1, s.PositionIds![i]);
            }
            // Each segment is exactly one encoded sample.
            foreach (var segment in s.SegmentIds!.Distinct())
            {
                var ids = s.InputIds.Where((_, i) => s.SegmentIds![i] == segment).ToArray();
                Assert.Contains(encoded, e => e.Main.InputIds.SequenceEqual(ids));
            }
        }
        Assert.Equal([[1, 0], [2]], Packing.Bins([3, 5, 4], 8).Select(b => b.ToArray())); // 5 + 3, then 4
    }

    [Fact]
    public void Template_errors_name_the_example()
    {
        var t = Qwen();
        var bad = new DataExample { Messages = [U("x"), new ChatMessage(ChatRole.Function, "{broken")], Origin = new ExampleOrigin("d", "d.json", 4, 9) };
        var e = Assert.Throws<DatasetException>(() => new SupervisedProcessor(t, new DataPipelineOptions()).Encode([bad], 0));
        Assert.Contains("dataset 'd', file d.json, record 4 (line 9)", e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void Template_tokenizer_replaces_eos_and_checks_stop_words()
    {
        var t = new TemplateTokenizer(CharTokenizer.ChatMl(), ChatTemplates.Get("qwen"));
        Assert.Equal(2, t.EosTokenId); // <|im_end|> replaces <|endoftext|>
        Assert.Equal(2, t.PadTokenId);
        var e = Assert.Throws<ArgumentException>(() => new TemplateTokenizer(CharTokenizer.Llama(), ChatTemplates.Get("qwen")));
        Assert.Contains("needs the token '<|im_end|>'", e.Message);
        var llama3 = Assert.Throws<ArgumentException>(() => new TemplateTokenizer(CharTokenizer.ChatMl(), ChatTemplates.Get("llama3")));
        Assert.Contains("<|eot_id|>", llama3.Message);
    }
}
