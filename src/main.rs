fn main() {
    std::process::exit(warren::cli::run(std::env::args_os()));
}
