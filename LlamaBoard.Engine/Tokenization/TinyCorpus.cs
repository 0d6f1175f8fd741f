namespace LlamaBoard.Engine.Tokenization;

/// <summary>
/// The built-in training text of <see cref="TinyTokenizer"/>: a few paragraphs of English and Chinese (written
/// for this project) plus a little code and chat, so common words, CJK characters and indentation get merges.
/// Changing it changes the tiny tokenizer's ids; tests pin what they rely on.
/// </summary>
internal static class TinyCorpus
{
    public const string Text = """
        The llama is a domesticated animal from South America. Llamas live in herds and are very social.
        They carry loads for people who walk in the mountains, and their wool is soft and warm.
        A language model reads text as a sequence of tokens. Each token is a piece of a word, a whole word,
        or a single byte. The model learns to predict the next token from the tokens before it.
        Fine-tuning changes the weights of a pretrained model so that it follows instructions, answers
        questions and writes in the style of the training data. With LoRA, only small adapter matrices are
        trained while the base model stays frozen. The learning rate, the batch size and the number of epochs
        are the settings people change most often. The loss should go down as training goes on; if it does not,
        the learning rate may be too high or the data may be wrong.
        The user asks a question and the assistant answers it. The assistant thinks first, then gives the answer.
        What is the capital of France? The capital of France is Paris. How many legs does a llama have? Four.
        Please write a short poem about the sea. The sea is blue, the sky is wide, the wind is cold tonight.
        Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 2024 3.14 42.

        羊驼是一种来自南美洲的家养动物。它们成群生活，性格温和，喜欢和同伴在一起。
        人们用羊驼在山里运送东西，它们的毛又软又暖和。
        语言模型把文本看成一串词元。每个词元可以是一个词的一部分、一个完整的词，或者一个字节。
        模型根据前面的词元来预测下一个词元。微调会改变预训练模型的权重，让它学会听从指令、回答问题。
        使用低秩适配器时，只训练很小的矩阵，基础模型保持不变。学习率、批大小和训练轮数是最常调整的设置。
        用户提出问题，助手先思考，然后给出回答。中国的首都是北京。今天天气很好，我们去公园散步吧。
        你好！谢谢你的帮助。请写一首关于大海的短诗。

        def train(model, data, epochs=3):
            for epoch in range(epochs):
                for batch in data:
                    loss = model(batch)
                    loss.backward()
                    optimizer.step()
            return model

        for (int i = 0; i < 10; i++) {
            Console.WriteLine($"step {i}: loss = {loss:F4}");
        }
        """;
}
