# The rstan peer of bench.irt: fit bench/stan/ordinal_irt.stan to the data bench.irt wrote
# and report times and convergence the way bench.irt does for NumPyro.
#   Rscript bench/stan/fit.R MODEL.stan DATA.R OUT.txt CHAINS WARMUP SAMPLES SEED CORES
# DATA.R is an R dump of the Stan data, start.R beside it one of the parameters' start values;
# OUT.txt gets "key value" lines and the z means.
# Same start as NumPyro: the posterior mode (Stan's L-BFGS) and, per chain, the mode plus a
# draw from the Laplace variances there; same warm-up and draw counts; R-hat and bulk ESS by
# rstan's Rhat and ess_bulk (Vehtari et al. 2021, as aggregation.estimators.diagnostics).
suppressPackageStartupMessages(library(rstan))
args <- commandArgs(trailingOnly = TRUE)
model_file <- args[1]; data_file <- args[2]; out_file <- args[3]
chains <- as.integer(args[4]); warmup <- as.integer(args[5]); samples <- as.integer(args[6])
seed <- as.integer(args[7]); cores <- as.integer(args[8])
rstan_options(auto_write = TRUE)
elapsed <- function(expr) { t <- proc.time()[["elapsed"]]; force(expr); proc.time()[["elapsed"]] - t }

# Debian's r-cran-bh ships no headers of its own: it relies on libboost-dev in /usr/include.
boost <- if (file.exists(rstan_options("boost_lib"))) NULL else "/usr/include"
compile_seconds <- elapsed(model <- stan_model(model_file, boost_lib = boost))
data <- new.env(); source(data_file, local = data); data <- as.list(data)
# The start of the mode search: NumPyro's (Stan's random inits put whole categories beyond
# the range where its Phi is below 1, and fail).
start <- new.env(); source(file.path(dirname(data_file), "start.R"), local = start)
start <- as.list(start)
mode_seconds <- elapsed(
  mode <- optimizing(model, data = data, hessian = TRUE, seed = seed, as_vector = FALSE, init = start,
                     iter = 5000)
)
# The Hessian is on the unconstrained scale, which for this program is the parameters' own.
variances <- diag(solve(-mode$hessian))
set.seed(seed)
jittered <- function() {
  par <- mode$par[c("log_sigma_free", "u_all", "u_panel_raw", "u_expert_raw", "z_free")]
  flat <- unlist(par) + rnorm(length(variances), 0, sqrt(variances))
  relist_one <- list(); start <- 0
  for (name in names(par)) {
    size <- length(par[[name]])
    value <- flat[(start + 1):(start + size)]
    relist_one[[name]] <- if (is.matrix(par[[name]])) matrix(value, nrow(par[[name]])) else value
    start <- start + size
  }
  relist_one
}
inits <- lapply(seq_len(chains), function(i) jittered())
sampling_seconds <- elapsed(
  fit <- sampling(model, data = data, chains = chains, cores = cores, iter = warmup + samples,
                  warmup = warmup, init = inits, seed = seed, refresh = 0,
                  control = list(adapt_delta = 0.85, max_treedepth = 10),
                  pars = c("z", "sigma", "tau_all", "tau_panel", "tau_expert"))
)
draws <- as.array(fit)
draws <- draws[, , dimnames(draws)$parameters != "lp__", drop = FALSE]
varying <- apply(draws, 3, sd) > 0
rhat <- apply(draws[, , varying, drop = FALSE], 3, Rhat)
ess <- apply(draws[, , varying, drop = FALSE], 3, ess_bulk)
sampler <- get_sampler_params(fit, inc_warmup = FALSE)
steps <- mean(sapply(sampler, function(x) mean(x[, "n_leapfrog__"])))
divergences <- sum(sapply(sampler, function(x) sum(x[, "divergent__"])))
z <- rstan::extract(fit, pars = "z")$z
lines <- c(
  sprintf("compile_seconds %.1f", compile_seconds),
  sprintf("mode_seconds %.1f", mode_seconds),
  sprintf("sampling_seconds %.1f", sampling_seconds),
  sprintf("n_parameters %d", length(rhat)),
  sprintf("rhat_max %.4f", max(rhat)),
  sprintf("share_rhat_above_limit %.4f", mean(rhat > 1.01)),
  sprintf("ess_bulk_min %.1f", min(ess)),
  sprintf("ess_bulk_median %.1f", median(ess)),
  sprintf("divergences %d", divergences),
  sprintf("leapfrog_steps_per_draw %.1f", steps),
  paste("z_mean", paste(sprintf("%.6f", colMeans(z)), collapse = " "))
)
writeLines(lines, out_file)
